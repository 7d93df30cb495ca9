#!/bin/sh
# make deb: the package's control data (dpkg-deb -I: name, version,
# Depends on every runtime library and the lws libev plugin, each of them a
# Debian package installed here), its files (dpkg-deb -c), and the packaged
# herald, extracted with dpkg-deb -x, running: --version, the packaged
# dashboard served with --web-root unset, SIGTERM exit 0; the packaged unit
# verifies like the installed one.
NAME=ops-deb
. tests/ops/lib.sh

if ! command -v dpkg-deb >/dev/null 2>&1; then
	skip "make deb: dpkg-deb not found (apt-get install dpkg-dev)"
	summary
	exit
fi
if ! DEB=$($MAKE --no-print-directory -s deb 2>"$T/deb.err"); then
	cat "$T/deb.err"
	not_ok "make deb"
	summary
	exit 1
fi
ok "make deb: $DEB"
[ -s "$T/deb.err" ] && { echo "make deb said:"; cat "$T/deb.err"; }
check "make deb prints nothing on stderr" test ! -s "$T/deb.err"

dpkg-deb -I "$DEB" >"$T/info.txt"
field() { dpkg-deb -f "$DEB" "$1"; }
check "Package: herald" test "$(field Package)" = herald
check "Version: $VERSION" test "$(field Version)" = "$VERSION"
check "Architecture: $(dpkg --print-architecture)" \
	test "$(field Architecture)" = "$(dpkg --print-architecture)"
depends=$(field Depends)
echo "  Depends: $depends"
for p in libc6 libwebsockets17 libwebsockets-evlib-ev libjansson4 \
	libhiredis0.14 libssl3 libev4 libsystemd0; do
	check "Depends names $p" sh -c 'echo "$1" | tr "," "\n" |
		sed "s/^ *//; s/ .*//" | grep -qx "$2"' sh "$depends" "$p"
done
missing=""
for p in $(echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//'); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
check "every package in Depends is a Debian package installed here${missing:+ (not:$missing)}" \
	test -z "$missing"
check "conffiles: /etc/default/herald" \
	sh -c 'dpkg-deb -I "$1" conffiles | grep -qx /etc/default/herald' sh "$DEB"
check "maintainer scripts: postinst, prerm, postrm" \
	sh -c 'for f in postinst prerm postrm; do
		grep -q " $f " "$1" || exit 1; done' sh "$T/info.txt"

dpkg-deb -c "$DEB" | awk '{ print $1, $2, $NF }' >"$T/contents.txt"
for entry in "-rwxr-xr-x ./usr/bin/herald" \
	"-rw-r--r-- ./lib/systemd/system/herald.service" \
	"-rw-r--r-- ./usr/share/man/man1/herald.1.gz" \
	"-rw-r--r-- ./etc/default/herald" \
	"-rw-r--r-- ./usr/share/herald/web/index.html" \
	"-rw-r--r-- ./usr/share/herald/web/herald.js"; do
	mode=${entry%% *}
	path=${entry#* }
	check "holds $path, $mode, root/root" has_line "$T/contents.txt" "$mode root/root $path"
done

X=$T/x
dpkg-deb -x "$DEB" "$X"
check "the packaged herald --version says $VERSION" \
	test "$("$X/usr/bin/herald" --version)" = "herald $VERSION"
check "the packaged man page carries the version" \
	sh -c 'zcat "$1" | grep -q "^\.TH HERALD 1 .*herald $2"' sh \
	"$X/usr/share/man/man1/herald.1.gz" "$VERSION"
check "the packaged unit runs /usr/bin/herald" \
	has_line "$X/lib/systemd/system/herald.service" "ExecStart=/usr/bin/herald"
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=.*|ExecStart=$X/usr/bin/herald|" \
		"$X/lib/systemd/system/herald.service" >"$T/herald.service"
	mkdir -p "$T/man/man1"
	cp "$X/usr/share/man/man1/herald.1.gz" "$T/man/man1/"
	out=$(MANPATH="$T/man" systemd-analyze verify "$T/herald.service" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out"
	check "the packaged unit verifies" test "$rc" -eq 0 -a -z "$out"
else
	skip "the packaged unit verifies: systemd-analyze not found"
fi

PORT=$(free_port)
cd "$T"
if start_herald "$T/herald.log" "$X/usr/bin/herald" --redis-url none; then
	check "the packaged herald serves the packaged dashboard (--web-root unset)" \
		serves_dashboard
	check "SIGTERM: it exits 0" stop_herald
else
	not_ok "the packaged herald starts"
fi
cd "$REPO"

summary
