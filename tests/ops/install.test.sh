#!/bin/sh
# make install / uninstall with DESTDIR and PREFIX: the layout and modes, the
# installed herald serving the installed dashboard with --web-root unset
# (started from a directory without ./web), an admin's /etc/default/herald
# kept, and nothing else left after uninstall.
NAME=ops-install
. tests/ops/lib.sh

R=$T/root
if ! $MAKE --no-print-directory install DESTDIR="$R" >"$T/install.log" 2>&1; then
	cat "$T/install.log"
	not_ok "make install DESTDIR=<tmp>"
	summary
	exit 1
fi
ok "make install DESTDIR=<tmp>"

for entry in usr/local/bin/herald:755 \
	usr/local/share/man/man1/herald.1:644 \
	usr/local/lib/systemd/system/herald.service:644 \
	etc/default/herald:644; do
	path=${entry%:*}
	mode=${entry##*:}
	check "installs /$path, mode $mode" \
		test "$(stat -c %a "$R/$path" 2>/dev/null)" = "$mode"
done
for f in web/*; do
	check "installs /usr/local/share/herald/$f" \
		same_file "$f" "$R/usr/local/share/herald/$f"
done
check "the unit runs the installed binary" \
	has_line "$R/usr/local/lib/systemd/system/herald.service" \
	"ExecStart=/usr/local/bin/herald"
check "the man page carries the version" \
	grep -q "^\.TH HERALD 1 .*herald $VERSION" "$R/usr/local/share/man/man1/herald.1"
check "/etc/default/herald is the example" \
	same_file dist/herald.default "$R/etc/default/herald"
check "the installed herald --version says $VERSION" \
	test "$("$R/usr/local/bin/herald" --version)" = "herald $VERSION"

PORT=$(free_port)
cd "$T"
if start_herald "$T/herald.log" "$R/usr/local/bin/herald" --redis-url none; then
	check "the installed herald serves the installed dashboard (--web-root unset)" \
		serves_dashboard
	check "it logs web_root=<prefix>/share/herald/web" \
		grep -q "web_root=$R/usr/local/share/herald/web " "$T/herald.log"
	check "SIGTERM: it exits 0" stop_herald
else
	not_ok "the installed herald starts"
fi
cd "$REPO"

echo "HERALD_PORT=9000" >>"$R/etc/default/herald"
$MAKE --no-print-directory install DESTDIR="$R" >"$T/install2.log" 2>&1
check "a second install keeps an edited /etc/default/herald" \
	has_line "$R/etc/default/herald" "HERALD_PORT=9000"
$MAKE --no-print-directory uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1
check "make uninstall removes every file but the edited /etc/default/herald" \
	test "$(cd "$R" && find . -type f)" = "./etc/default/herald"
cp dist/herald.default "$R/etc/default/herald"
$MAKE --no-print-directory uninstall DESTDIR="$R" >"$T/uninstall2.log" 2>&1
check "make uninstall removes an unchanged /etc/default/herald" \
	test -z "$(find "$R" -type f)"

U=$T/usr-root
$MAKE --no-print-directory install DESTDIR="$U" PREFIX=/usr >"$T/install3.log" 2>&1
check "PREFIX=/usr: /usr/bin/herald and /usr/share/herald/web" \
	test -x "$U/usr/bin/herald" -a -f "$U/usr/share/herald/web/index.html"
check "PREFIX=/usr: the unit in /usr/lib/systemd/system runs /usr/bin/herald" \
	has_line "$U/usr/lib/systemd/system/herald.service" "ExecStart=/usr/bin/herald"

summary
