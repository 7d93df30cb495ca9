#!/bin/sh
# run.sh — build herald's libFuzzer targets and run each for a while.
#
#   tests/fuzz/run.sh [seconds] [target...]
#
# seconds: per target (default 10). targets: fuzz_message fuzz_auth
# fuzz_handshake fuzz_redis_payload (default: all). Builds into build/fuzz/
# with clang -fsanitize=fuzzer,address,undefined, replays the committed
# reproducers of tests/fuzz/regressions/<target>/, then fuzzes a fresh COPY
# of tests/fuzz/corpus/<target>/ (the committed corpus never grows) with
# -max_total_time. Prints exec counts; exits non-zero when any target
# crashed, leaked, timed out or failed to build. Crash inputs land in
# build/fuzz/artifacts/<target>/, logs in build/fuzz/logs/<target>.log.
#
# Environment: CC_FUZZ (default clang), FUZZ_FLAGS (extra libFuzzer
# flags), FUZZ_KEEP=1 (keep the working corpus of the last run and go on
# from it instead of starting from the committed seeds).
set -u

cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-10}
[ $# -gt 0 ] && shift
TARGETS=${*:-fuzz_message fuzz_auth fuzz_handshake fuzz_redis_payload fuzz_ws_wire}
CC_FUZZ=${CC_FUZZ:-clang}
OUT=build/fuzz

case $SECONDS_PER_TARGET in
'' | *[!0-9]*)
	echo "usage: tests/fuzz/run.sh [seconds] [target...]" >&2
	exit 2
	;;
esac

if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
	echo "fuzz: $CC_FUZZ is required (libFuzzer): apt-get install clang libclang-rt-14-dev" >&2
	exit 1
fi
if ! pkg-config --exists libwebsockets jansson hiredis openssl; then
	echo "fuzz: development packages missing: make deps" >&2
	exit 1
fi

PKG_CFLAGS=$(pkg-config --cflags libwebsockets jansson hiredis openssl)
PKG_LIBS=$(pkg-config --libs libwebsockets jansson hiredis openssl)
CFLAGS_FUZZ="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter"
# every core module but the process, the worker's loop and its sockets
# (the fuzz world stands in for those), so a new module links by itself
ROUTER_SRCS=$(ls server/*.c | grep -v -e '/main\.c$' -e '/worker\.c$' \
	-e '/node_threads\.c$' \
	-e '/listener\.c$' -e '/service_notify\.c$' -e '/sys_channel\.c$' | tr '\n' ' ')

# The server sources each target links (compiled into it directly).
sources_of() {
	case $1 in
	fuzz_message) echo "$ROUTER_SRCS" ;;
	fuzz_redis_payload) echo "$ROUTER_SRCS" ;;
	fuzz_auth) echo "server/auth.c" ;;
	fuzz_handshake) echo "server/handshake.c server/seq.c server/names.c server/config.c server/log.c" ;;
	fuzz_ws_wire) echo "server/ws_wire.c" ;;
	*) return 1 ;;
	esac
}

# Extra libFuzzer flags per target.
flags_of() {
	case $1 in
	fuzz_auth) echo "-max_len=8192" ;;     # past AUTH_MAX_TOKEN (4096)
	fuzz_redis_payload) echo "-max_len=4096" ;;
	*) echo "-max_len=4096" ;;
	esac
}

build() {
	t=$1
	srcs=$(sources_of "$t") || { echo "fuzz: unknown target $t" >&2; return 1; }
	bin=$OUT/$t
	stale=0
	if [ ! -x "$bin" ]; then
		stale=1
	else
		for f in "tests/fuzz/$t.c" tests/fuzz/*.h $srcs server/*.h protocols/*.h "$0"; do
			[ "$f" -nt "$bin" ] && stale=1
		done
	fi
	[ $stale = 0 ] && return 0
	echo "  FUZZCC  $bin"
	# shellcheck disable=SC2086
	$CC_FUZZ $CFLAGS_FUZZ -D_GNU_SOURCE -Iserver -Iprotocols $PKG_CFLAGS \
		-o "$bin" "tests/fuzz/$t.c" $srcs $PKG_LIBS -lev -lpthread
}

# "name=value" from libFuzzer's -print_final_stats output.
final_stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

mkdir -p "$OUT/logs" "$OUT/artifacts" "$OUT/corpus"
failed=""
total_runs=0
for t in $TARGETS; do
	if ! build "$t"; then
		echo "fuzz: $t: build failed" >&2
		failed="$failed $t"
		continue
	fi
	log=$OUT/logs/$t.log
	art=$OUT/artifacts/$t
	work=$OUT/corpus/$t
	mkdir -p "$art"
	if [ "${FUZZ_KEEP:-0}" != 1 ] || [ ! -d "$work" ]; then
		rm -rf "$work"
		mkdir -p "$work"
		cp -R "tests/fuzz/corpus/$t/." "$work/"
	fi
	seeds=$(find "$work" -type f | wc -l)

	# known reproducers first: each must run clean
	regs=$(find "tests/fuzz/regressions/$t" -type f 2>/dev/null | sort)
	if [ -n "$regs" ]; then
		# shellcheck disable=SC2086
		if ! "$OUT/$t" -artifact_prefix="$art/" $regs >"$OUT/logs/$t.regressions.log" 2>&1; then
			echo "fuzz: $t: a reproducer in tests/fuzz/regressions/$t still fails (see $OUT/logs/$t.regressions.log)" >&2
			grep -m 3 -E "ERROR|SUMMARY|fuzz assertion|runtime error" "$OUT/logs/$t.regressions.log" >&2
			failed="$failed $t"
		fi
	fi

	# shellcheck disable=SC2046,SC2086
	"$OUT/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
		-dict="tests/fuzz/$t.dict" $(flags_of "$t") ${FUZZ_FLAGS:-} \
		"$work" >"$log" 2>&1
	rc=$?
	runs=$(final_stat number_of_executed_units "$log")
	rate=$(final_stat average_exec_per_sec "$log")
	cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 |
		sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	corp=$(find "$work" -type f | wc -l)
	case ${runs:-} in
	'' | *[!0-9]*) runs='?' ;;
	*) total_runs=$((total_runs + runs)) ;;
	esac
	if [ $rc -eq 0 ]; then
		printf '%-20s ok    %s execs in %ss (%s/s), cov %s, corpus %s -> %s\n' \
			"$t" "$runs" "$SECONDS_PER_TARGET" "${rate:-?}" "${cov:-?}" "$seeds" "$corp"
	else
		printf '%-20s FAIL  exit %s after %s execs; log %s\n' "$t" "$rc" "$runs" "$log"
		grep -m 5 -E "^==[0-9]+==ERROR|SUMMARY|fuzz assertion|runtime error|Test unit written|ERROR: libFuzzer" "$log" | sed 's/^/    /'
		failed="$failed $t"
	fi
done

echo "fuzz: $total_runs execs in total"
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
exit 0
