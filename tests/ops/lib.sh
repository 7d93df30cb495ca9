# Helpers of the ops tests (tests/ops/*.test.sh, make test-ops): results,
# a temporary directory, and herald processes, all cleaned up on exit.
#
# A test script sets NAME, sources this file, calls check/ok/not_ok/skip and
# ends with `summary`, which prints "NAME: N passed, N failed, N skipped" and
# fails when anything failed. Run from the repository root; VERSION (the
# Makefile's) and MAKE come from the environment (make test-ops sets them).
set -u
PASS=0
FAIL=0
SKIP=0
VERSION=${VERSION:?VERSION is set by make test-ops}
MAKE=${MAKE:-make}
REPO=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-ops.XXXXXX")
HERALD_PID=""

cleanup() {
	if [ -n "$HERALD_PID" ]; then
		kill -KILL "$HERALD_PID" 2>/dev/null
		wait "$HERALD_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "  ok   $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "  FAIL $*"; }
skip() { SKIP=$((SKIP + 1)); echo "  skip $*"; }

# check "what" command...: ok when the command succeeds
check() {
	what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

summary() {
	echo "$NAME: $PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" -eq 0 ]
}

# same_file A B: identical contents
same_file() { cmp -s "$1" "$2"; }

# has_line FILE LINE: FILE has exactly this line
has_line() { grep -qxF -- "$2" "$1"; }

free_port() {
	node -e "const s = require('net').createServer().listen(0, '127.0.0.1', \
() => { console.log(s.address().port); s.close(); })"
}

# env arguments that drop every HERALD_* variable (herald's own settings)
# from a command's environment.
unset_herald_env() {
	env | sed -n 's/^\(HERALD_[A-Za-z0-9_]*\)=.*/-u \1/p'
}

# start_herald LOG BIN ARGS...: runs BIN in the background (from the current
# directory) on port $PORT and waits up to 10 s for GET /health 200.
start_herald() {
	log=$1
	shift
	# a simple command, so that $! is herald itself (env execs it)
	env $(unset_herald_env) "$@" --port "$PORT" >"$log" 2>&1 &
	HERALD_PID=$!
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && return 0
		kill -0 "$HERALD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "herald did not come up on port $PORT:" >&2
	cat "$log" >&2
	return 1
}

# stop_herald: SIGTERM, and the exit status is herald's
stop_herald() {
	[ -n "$HERALD_PID" ] || return 1
	kill -TERM "$HERALD_PID"
	wait "$HERALD_PID"
	rc=$?
	HERALD_PID=""
	return $rc
}

# serves_dashboard: GET / and GET /herald.js are this checkout's web/ files
serves_dashboard() {
	curl -sf "http://127.0.0.1:$PORT/" -o "$T/index.got" &&
		curl -sf "http://127.0.0.1:$PORT/herald.js" -o "$T/herald.js.got" &&
		same_file "$T/index.got" "$REPO/web/index.html" &&
		same_file "$T/herald.js.got" "$REPO/web/herald.js"
}
