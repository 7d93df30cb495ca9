#!/bin/sh
# herald(1): renders with man -l without a groff warning, names exactly the
# flags of `herald --help` (each with its HERALD_* variable and default), and
# dist/herald.default names every variable. Skipped where man is absent.
NAME=ops-man
. tests/ops/lib.sh

BIN=${1:-build/herald}
PAGE=docs/herald.1
"$BIN" --help >"$T/help.txt"

if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man --warnings -l "$PAGE" >"$T/man.txt" 2>"$T/man.err"
	rc=$?
	[ -s "$T/man.err" ] && cat "$T/man.err"
	check "man -l renders it with no warning" \
		test "$rc" -eq 0 -a ! -s "$T/man.err" -a -s "$T/man.txt"
	check "the rendered page has NAME, SYNOPSIS, OPTIONS, SIGNALS, EXIT STATUS, FILES, EXAMPLES" \
		sh -c 'for s in NAME SYNOPSIS OPTIONS SIGNALS "EXIT STATUS" FILES EXAMPLES; do
			grep -qx "$s" "$1" || exit 1; done' sh "$T/man.txt"
else
	skip "man -l: man not found (apt-get install man-db)"
fi

# flags: "  --name" lines of --help; ".B(I) \-\-name" right after .TP in the page
sed -n 's/^  \(--[a-z-]*\).*/\1/p' "$T/help.txt" | sort >"$T/help.flags"
awk 'prev == ".TP" && /^\.BI? \\-\\-/ { f = $2; gsub(/\\-/, "-", f); print f }
	{ prev = $0 }' "$PAGE" | sort >"$T/man.flags"
if same_file "$T/help.flags" "$T/man.flags"; then
	ok "the page documents exactly the $(wc -l <"$T/help.flags") flags of --help"
else
	not_ok "the page and --help list different flags (< --help, > page):"
	diff "$T/help.flags" "$T/man.flags"
fi

# each flag's entry (from its .TP to the next) names its variable and default
entry() {
	awk -v flag="$1" 'prev == ".TP" { on = 0; f = $2; gsub(/\\-/, "-", f);
		if (f == flag) on = 1 } on { print } { prev = $0 }' "$PAGE" |
		sed 's/\\-/-/g; s/\\(en/-/g'
}
bad=""
for flag in $(grep -v -e '^--help$' -e '^--version$' "$T/help.flags"); do
	var=$(sed -n "/^  $flag /{n;s/.*\[\(HERALD_[A-Z_]*\)\].*/\1/p}" "$T/help.txt")
	def=$(sed -n "/^  $flag /{n;s/.*default: //p}" "$T/help.txt")
	case $def in
	"host name + pid") def="host name" ;;
	*,*) def=${def%%,*} ;; # ./web, else ...: the first choice
	esac
	e=$(entry "$flag")
	echo "$e" | grep -qF "$var" || bad="$bad $flag(variable $var)"
	echo "$e" | grep -qF -- "$def" || bad="$bad $flag(default $def)"
	grep -q "^#$var=" dist/herald.default || bad="$bad $flag(dist/herald.default)"
done
check "each flag's entry names its HERALD_* variable and its default, and dist/herald.default has it${bad:+: missing$bad}" \
	test -z "$bad"

summary
