#!/bin/sh
# make deb: turns a staged install into build/herald_<version>_<arch>.deb
# with the Debian tools (dpkg-shlibdeps, dpkg-deb).
#
#   dist/mkdeb.sh WORK VERSION OUTDIR
#
# WORK/debian/herald holds `make install PREFIX=/usr UNITDIR=/lib/systemd/system`
# (the Makefile's deb target stages it). The binary is stripped, the man page
# compressed, and Depends is what dpkg-shlibdeps finds the binary linking,
# plus libwebsockets-evlib-ev: lws loads its libev plugin with dlopen(),
# which no linker tool sees. /etc/default/herald is a conffile.
set -eu
WORK=$1
VERSION=$2
OUT=$3
PKG=$WORK/debian/herald
ARCH=$(dpkg --print-architecture)

for tool in dpkg-shlibdeps dpkg-deb strip; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "mkdeb: $tool not found: apt-get install dpkg-dev binutils" >&2
		exit 1
	}
done

strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$PKG/usr/bin/herald"
gzip -9n "$PKG/usr/share/man/man1/herald.1"

# dpkg-shlibdeps reads debian/control of the "source" in the working directory
# and knows a package's tree by its DEBIAN/
mkdir -p "$PKG/DEBIAN"
printf 'Source: herald\n\nPackage: herald\nArchitecture: any\n' \
	> "$WORK/debian/control"
shlibs=$(cd "$WORK" && dpkg-shlibdeps -O debian/herald/usr/bin/herald)
depends="${shlibs#shlibs:Depends=}, libwebsockets-evlib-ev"

sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" \
	-e "s|@DEPENDS@|$depends|" \
	-e "s|@SIZE@|$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)|" \
	dist/deb/control.in > "$PKG/DEBIAN/control"
echo /etc/default/herald > "$PKG/DEBIAN/conffiles"
install -m 755 dist/deb/postinst dist/deb/prerm dist/deb/postrm "$PKG/DEBIAN/"
(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	LC_ALL=C sort -z | xargs -0 md5sum) > "$PKG/DEBIAN/md5sums"

deb="$OUT/herald_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$deb" >/dev/null
echo "$deb"
