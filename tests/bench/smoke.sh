#!/usr/bin/env bash
# herald-bench smoke run (about 5 s): starts herald on a free loopback port,
# runs short echo, fan-out and idle scenarios with -strict, and fails if any
# echo reply is wrong, any fan-out message is lost or duplicated, or an idle
# session is closed. Then starts `herald-bench floor` (the raw fan-out
# reference server) on another port and runs a short fan-out against it,
# which must deliver everything with no errors on either side.
#
#   tests/bench/smoke.sh [HERALD_BIN] [HERALD_BENCH_BIN]
#
# Defaults: build/herald and build/herald-bench under the repository root.
# Exit status: 0 all passed, 1 a check failed, 2 a binary is missing or
# herald did not start.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
herald=${1:-$root/build/herald}
bench=${2:-$root/build/herald-bench}

for b in "$herald" "$bench"; do
	if [ ! -x "$b" ]; then
		echo "smoke: $b is missing; build it with: make -C $root all" >&2
		exit 2
	fi
done

log=$(mktemp -t herald-smoke.XXXXXX)
flog=$(mktemp -t herald-smoke-floor.XXXXXX)
fout=$(mktemp -t herald-smoke-floor-out.XXXXXX)
hpid=
fpid=
cleanup() {
	for p in $hpid $fpid; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -f "$log" "$flog" "$fout"
}
trap cleanup EXIT

# Flags this herald knows (its rate and byte budgets would throttle the
# echo run).
extra=()
for flag in --rate-limit --rate-limit-bytes --fanout-limit; do
	if "$herald" --help 2>&1 | grep -q -- "$flag "; then
		extra+=("$flag" 0)
	fi
done

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start herald on a free port; retry a few ports if one is taken meanwhile.
port=
for attempt in 1 2 3 4 5; do
	p=$((20000 + RANDOM % 30000))
	port_busy "$p" && continue
	"$herald" --host 127.0.0.1 --port "$p" --redis-url none --web-root none \
		--log-level warn "${extra[@]}" >"$log" 2>&1 &
	hpid=$!
	for _ in $(seq 1 100); do # up to 5 s
		if ! kill -0 "$hpid" 2>/dev/null; then
			wait "$hpid" 2>/dev/null
			hpid=
			break
		fi
		if port_busy "$p"; then
			port=$p
			break
		fi
		sleep 0.05
	done
	[ -n "$port" ] && break
	if [ -n "$hpid" ]; then
		kill "$hpid" 2>/dev/null
		wait "$hpid" 2>/dev/null
		hpid=
	fi
done
if [ -z "$port" ]; then
	echo "smoke: herald did not start:" >&2
	tail -5 "$log" >&2
	exit 2
fi

url=ws://127.0.0.1:$port
failed=0
run() { # name args...
	local name=$1 out rc
	shift
	out=$("$bench" "$@" -pid "$hpid" -strict 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "  ok    $name: $(printf '%s\n' "$out" | tail -1)"
	else
		echo "  FAIL  $name (exit $rc):"
		printf '%s\n' "$out" | sed 's/^/        /'
		failed=1
	fi
}

echo "herald-bench smoke against $herald on port $port"
run "echo text" echo -url "$url" -c 20 -s 64 -d 700ms -warmup 200ms
run "echo binary pipelined" echo -url "$url" -c 10 -s 300 -pipeline 4 -binary -d 300ms -warmup 100ms
run "fan-out ws" fanout -url "$url" -k 50 -r 50 -d 700ms -settle 200ms -drain 2s
run "fan-out http" fanout -url "$url" -k 20 -r 20 -d 300ms -settle 100ms -drain 2s -trigger http
run "idle, then connect while held" idle -url "$url" -c 200 -hold 300ms -connect 300ms -conc 4

if ! kill -0 "$hpid" 2>/dev/null; then
	echo "  FAIL  herald exited during the smoke run"
	failed=1
fi

# The raw floor: its own free port, a 1 s fan-out with -pid, then SIGTERM;
# both JSON lines must show deliveries and no errors.
floor_fail() {
	echo "  FAIL  floor fan-out: $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/        /'
	sed 's/^/        floor: /' "$flog"
	failed=1
}
fport=
for attempt in 1 2 3 4 5; do
	p=$((20000 + RANDOM % 30000))
	port_busy "$p" && continue
	"$bench" floor -listen "127.0.0.1:$p" -d 30s >"$fout" 2>"$flog" &
	fpid=$!
	for _ in $(seq 1 100); do # up to 5 s
		kill -0 "$fpid" 2>/dev/null || break
		if port_busy "$p"; then
			fport=$p
			break
		fi
		sleep 0.05
	done
	[ -n "$fport" ] && break
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	fpid=
done
if [ -z "$fport" ]; then
	floor_fail "herald-bench floor did not start"
else
	out=$("$bench" fanout -url "ws://127.0.0.1:$fport" -k 50 -r 50 -d 1s \
		-settle 200ms -drain 2s -pid "$fpid" -strict 2>&1)
	rc=$?
	kill -TERM "$fpid" 2>/dev/null
	wait "$fpid"
	frc=$?
	fpid=
	json=$(printf '%s\n' "$out" | grep '^{"tool"')
	if [ $rc -ne 0 ]; then
		floor_fail "fanout exit $rc" "$out"
	elif ! [[ $json =~ \"received\":([0-9]+) ]] || [ "${BASH_REMATCH[1]}" -eq 0 ] ||
		! [[ $json == *'"errors":0'* ]]; then
		floor_fail "no deliveries or errors in the fanout line" "$out"
	elif [ $frc -ne 0 ] || ! grep -q '"stopped_by":"signal"' "$fout" ||
		! grep -q '"errors":0' "$fout"; then
		floor_fail "floor exit $frc, or errors in its line: $(cat "$fout")"
	else
		echo "  ok    floor fan-out: $(printf '%s\n' "$out" | tail -1)"
		echo "        $(tail -1 "$flog")"
	fi
fi
if [ $failed -ne 0 ]; then
	echo "herald log (last lines):"
	tail -20 "$log" | sed 's/^/        /'
	exit 1
fi
echo "herald-bench smoke: all passed"
