#!/usr/bin/env bash
# make bench: herald measured the way its peers are, in one run.
#
#  1. herald-bench (this directory's load generator) against herald alone:
#     every scenario, herald pinned to CPU 1 and the generator to CPU 0.
#     Then the fanout10k scenario once more against `herald-bench floor`
#     (a raw epoll server: one send() of a prebuilt frame per recipient) on
#     the same pinning, and herald's deliveries per server CPU-second as a
#     fraction of the floor's (floor.md).
#  2. When ../shared/peers (or $PEERS_DIR) is present: its bench.sh with
#     herald as the subject, so herald and Bun, Go gorilla, Node ws, FastAPI
#     and nchan run the same scenarios with the same generator (wsload) on the
#     same pinning, and its table carries herald/peer ratios. bench.sh is
#     called once per scenario (see below); REPEAT is passed through.
#  3. Idle cost, herald and Bun with herald-bench: hold N idle sessions for
#     IDLE_HOLD seconds (default 30: more than a 25 s heartbeat period),
#     report the server's CPU per 10,000 of them, then measure handshakes
#     per server CPU-second while they are still held (N = 1 is the rate
#     with none held). wsload has no such scenario, so this phase uses
#     herald-bench for both servers. IDLE_SIZES (default "1 10000 15000
#     19000"; the last needs an open-files limit above 19,100).
#  4. Workers: per-core efficiency of --workers 2 against --workers 1, the
#     work per server CPU-second of echo and of fan-out to 10,000 (WS and
#     Redis PUBLISH triggers). --workers 1 runs on CPU 1, --workers 2 on
#     CPUs 0 and 1; the generator stays on CPU 0 (it shares that core with
#     a worker, so compare work per server CPU-second, not throughput).
#     WORKERS_REPEAT (default 3) alternating runs; the table has medians.
#
# Environment: DUR (seconds per scenario, default 10), SCENARIOS and PEERS
# (passed to bench.sh), OUT (default build/bench/<timestamp>), NO_PEERS=1,
# PHASES (default "1 2 3 4"), IDLE_HOLD, IDLE_SIZES, WORKERS_REPEAT.
# Results: $OUT/herald-bench.jsonl (the floor's line also holds the floor's
# own JSON), floor.md, $OUT/peers/ (table.md, results.jsonl),
# $OUT/idle-cost.jsonl and idle-cost.md, $OUT/workers.jsonl and workers.md.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DUR=${DUR:-10}
OUT=${OUT:-$ROOT/build/bench/$(date +%Y%m%d-%H%M%S)}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
HERALD=$ROOT/build/herald
BENCH=$ROOT/build/herald-bench
mkdir -p "$OUT"
log() { echo "[bench $(date +%T)] $*" >&2; }

# Benchmarks measure the server, not its abuse protection: the message
# and byte rate limits and the fan-out budget are off.
HERALD_ARGS="--host 127.0.0.1 --web-root none --log-level warn --rate-limit 0 --rate-limit-bytes 0 --fanout-limit 0 --max-connections 1000000"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--loglevel warning >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
HERALD_PID=""
FLOOR_PID=""
PEER_REDIS_PID=""
BUN_PID=""
cleanup() {
	[ -n "$HERALD_PID" ] && kill "$HERALD_PID" 2>/dev/null
	[ -n "$FLOOR_PID" ] && kill "$FLOOR_PID" 2>/dev/null
	[ -n "$BUN_PID" ] && kill "$BUN_PID" 2>/dev/null
	[ -n "$PEER_REDIS_PID" ] && kill "$PEER_REDIS_PID" 2>/dev/null
	kill "$REDIS_PID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

# start_herald port [cpus [herald flags...]]: pinned to cpus (default 1,
# which makes --workers default to 1)
start_herald() {
	local port=$1 cpus=${2:-1}
	shift; [ $# -gt 0 ] && shift
	taskset -c "$cpus" "$HERALD" $HERALD_ARGS "$@" --port "$port" \
		--redis-url "redis://127.0.0.1:$REDIS_PORT" >>"$OUT/herald.log" 2>&1 &
	HERALD_PID=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/health" | grep -q '"redis":"connected"' && return 0
		sleep 0.1
	done
	log "herald did not come up"; return 1
}
stop_herald() {
	kill "$HERALD_PID" 2>/dev/null; wait "$HERALD_PID" 2>/dev/null; HERALD_PID=""
}
# wait_port port name: 0 once something accepts on port (10 s at most).
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	log "$2 did not come up"; return 1
}
# The raw floor, pinned like herald. -d only bounds it should this script
# die: it is stopped with SIGTERM after its scenario, and then prints its
# JSON line (kept in FLOOR_LINE).
start_floor() {
	local port=$1
	FLOOR_OUT=$OUT/floor-$port.json
	taskset -c 1 "$BENCH" floor -listen "127.0.0.1:$port" -d 600s \
		>"$FLOOR_OUT" 2>>"$OUT/floor.log" &
	FLOOR_PID=$!
	wait_port "$port" "herald-bench floor"
}
stop_floor() {
	kill -TERM "$FLOOR_PID" 2>/dev/null; wait "$FLOOR_PID" 2>/dev/null; FLOOR_PID=""
	FLOOR_LINE=$(tail -1 "$FLOOR_OUT" 2>/dev/null)
	rm -f "$FLOOR_OUT"
}

# name, then herald-bench arguments ($URL and $PID are substituted). A name
# floor_<x> runs against herald-bench floor instead of herald, with the
# arguments of <x>, so floor_table.py can divide the two.
FANOUT10K="fanout -url \$URL -k 10000 -r 10 -d ${DUR}s -trigger ws -pid \$PID"
SCENARIO_LIST=(
	"echo100|echo -url \$URL -c 100 -s 32 -d ${DUR}s -warmup 2s -pid \$PID"
	"echo1000|echo -url \$URL -c 1000 -s 32 -d ${DUR}s -warmup 2s -pid \$PID"
	"fanout1k|fanout -url \$URL -k 1000 -r 10 -d ${DUR}s -trigger ws -pid \$PID"
	"fanout10k|$FANOUT10K"
	"fanout10k_redis|fanout -url \$URL -k 10000 -r 10 -d ${DUR}s -trigger redis -redis 127.0.0.1:$REDIS_PORT -channel herald:broadcast -pid \$PID"
	"floor_fanout10k|$FANOUT10K"
	"idle10k|idle -url \$URL -c 10000 -hold 5s -pid \$PID"
	"connect|connect -url \$URL -d ${DUR}s -conc 32 -pid \$PID"
)

PHASES=" ${PHASES:-1 2 3 4} "
[ -n "${NO_PEERS:-}" ] && PHASES=${PHASES/ 2 / }
want_phase() { [[ "$PHASES" == *" $1 "* ]]; }

want_phase 1 && log "phase 1: herald-bench against herald (results in $OUT/herald-bench.jsonl)"
: >"$OUT/herald-bench.jsonl"
want_phase 1 && for entry in "${SCENARIO_LIST[@]}"; do
	name=${entry%%|*}
	port=$(free_port)
	if [[ $name == floor_* ]]; then
		start_floor "$port" || { stop_floor; continue; }
		subject_pid=$FLOOR_PID
	else
		start_herald "$port" || continue
		subject_pid=$HERALD_PID
	fi
	args=${entry#*|}
	args=${args//\$URL/ws://127.0.0.1:$port}
	args=${args//\$PID/$subject_pid}
	log "$name: herald-bench $args"
	line=$(timeout 300 taskset -c 0 "$BENCH" $args 2>>"$OUT/herald-bench.log" | tail -1)
	if [[ $name == floor_* ]]; then
		stop_floor
		echo "{\"scenario\":\"$name\",\"server\":\"floor\",\"cmd\":\"herald-bench $args\",\"result\":${line:-null},\"floor\":${FLOOR_LINE:-null}}" >>"$OUT/herald-bench.jsonl"
	else
		echo "{\"scenario\":\"$name\",\"cmd\":\"herald-bench $args\",\"result\":${line:-null}}" >>"$OUT/herald-bench.jsonl"
		stop_herald
	fi
	echo "$name: $line"
done
if want_phase 1; then
	/usr/bin/python3 "$ROOT/tests/bench/floor_table.py" "$OUT/herald-bench.jsonl" >"$OUT/floor.md"
	log "fraction of the raw floor: $OUT/floor.md"
	cat "$OUT/floor.md"
fi

# bench.sh runs every scenario of one server before the next server; on
# this noisy VM a slow minute then lands on one server's whole row. One
# bench.sh call per scenario keeps each scenario's runs of all servers (and
# their repeats) close together in time; report.py renders the union.
PEER_SCENARIOS=${SCENARIOS:-"echo100 echo1000 fanout1k fanout10k fanout1k_redis fanout10k_redis idle10k idle50k connect"}
if want_phase 2 && [ -x "$PEERS_DIR/bench.sh" ]; then
	log "phase 2: side by side with the peers in $PEERS_DIR, one scenario at a time (a full run takes ~10 min per REPEAT at DUR=5)"
	mkdir -p "$OUT/peers"
	: >"$OUT/peers/results.jsonl"
	# bench.sh uses a Redis on 6379 when one answers, else starts and stops
	# its own; one for the whole phase spares each call the restart (a
	# call could find the previous call's Redis still answering, then gone)
	if ! redis-cli -p 6379 ping 2>/dev/null | grep -q PONG; then
		redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
			--loglevel warning >"$OUT/peers/redis.log" 2>&1 &
		PEER_REDIS_PID=$!
		for _ in $(seq 50); do redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
	fi
	for sc in $PEER_SCENARIOS; do
		SUBJECT_NAME=herald SUBJECT_REDIS_CHANNEL=herald:broadcast SUBJECT_PORT=18100 \
		SUBJECT_CMD="$HERALD $HERALD_ARGS --port \$PORT --redis-url redis://127.0.0.1:\$REDIS_PORT" \
		SCENARIOS=$sc DUR=$DUR OUT="$OUT/peers/$sc" "$PEERS_DIR/bench.sh" >"$OUT/peers/$sc.log" 2>&1
		cat "$OUT/peers/$sc/results.jsonl" >>"$OUT/peers/results.jsonl" 2>/dev/null
		log "$sc done"
		export NO_INSTALL=1 # checked once
	done
	[ -n "$PEER_REDIS_PID" ] && kill "$PEER_REDIS_PID" && PEER_REDIS_PID=""
	/usr/bin/python3 "$PEERS_DIR/report.py" "$OUT/peers/results.jsonl" --subject herald >"$OUT/peers/table.md"
	log "table: $OUT/peers/table.md"
	cat "$OUT/peers/table.md"
else
	log "phase 2 skipped (no $PEERS_DIR/bench.sh, NO_PEERS set, or not in PHASES)"
fi

# Phase 3: idle cost, herald and Bun side by side with herald-bench.
idle_cost_server() { # name port: starts it pinned to CPU 1, sets SERVER_PID
	local name=$1 port=$2
	if [ "$name" = herald ]; then
		start_herald "$port" && SERVER_PID=$HERALD_PID
	else
		(cd "$PEERS_RUN" && REDIS_PORT=$REDIS_PORT exec taskset -c 1 "$BUN_BIN" bun/server.ts --port "$port") \
			>>"$OUT/bun.log" 2>&1 &
		BUN_PID=$!
		SERVER_PID=$BUN_PID
		wait_port "$port" bun
	fi
}
idle_cost_stop() {
	[ -n "$HERALD_PID" ] && stop_herald
	[ -n "$BUN_PID" ] && { kill "$BUN_PID" 2>/dev/null; wait "$BUN_PID" 2>/dev/null; BUN_PID=""; }
}
if want_phase 3; then
	IDLE_HOLD=${IDLE_HOLD:-30}
	IDLE_SIZES=${IDLE_SIZES:-"1 10000 15000 19000"}
	# bench.sh (phase 2) installs Bun into the peers' folder, or into a
	# private copy of it when that folder is read-only
	PEERS_RUN=""
	for d in "$PEERS_DIR" "${PEERS_WORK:-/tmp/herald-peers}"; do
		[ -x "$d/node_modules/bun/bin/bun.exe" ] && { PEERS_RUN=$d; break; }
	done
	SERVERS="herald"
	if [ -n "$PEERS_RUN" ]; then
		BUN_BIN=$PEERS_RUN/node_modules/bun/bin/bun.exe
		SERVERS="herald bun"
	else
		log "phase 3: no Bun (run phase 2 once to install it); herald only"
	fi
	log "phase 3: idle cost (hold ${IDLE_HOLD}s, then 10 s of handshakes) for $SERVERS, sizes $IDLE_SIZES"
	: >"$OUT/idle-cost.jsonl"
	for n in $IDLE_SIZES; do
		for name in $SERVERS; do
			port=$(free_port)
			idle_cost_server "$name" "$port" || { idle_cost_stop; continue; }
			hold=$IDLE_HOLD
			[ "$n" -le 1 ] && hold=2
			args="idle -url ws://127.0.0.1:$port -c $n -hold ${hold}s -connect 10s -pid $SERVER_PID"
			log "idle cost $name n=$n: herald-bench $args"
			line=$(timeout 300 taskset -c 0 "$BENCH" $args 2>>"$OUT/idle-cost.log" | tail -1)
			echo "{\"server\":\"$name\",\"sessions\":$n,\"result\":${line:-null}}" >>"$OUT/idle-cost.jsonl"
			idle_cost_stop
		done
	done
	/usr/bin/python3 "$ROOT/tests/bench/idle_cost_table.py" "$OUT/idle-cost.jsonl" >"$OUT/idle-cost.md"
	cat "$OUT/idle-cost.md"
fi

# Phase 4: per-core efficiency, --workers 2 against --workers 1.
if want_phase 4; then
	WORKERS_REPEAT=${WORKERS_REPEAT:-3}
	WORKER_SCENARIOS=(
		"echo100|echo -url \$URL -c 100 -s 32 -d ${DUR}s -warmup 2s -pid \$PID"
		"fanout10k|$FANOUT10K"
		"fanout10k_redis|fanout -url \$URL -k 10000 -r 10 -d ${DUR}s -trigger redis -redis 127.0.0.1:$REDIS_PORT -channel herald:broadcast -pid \$PID"
	)
	log "phase 4: --workers 1 (CPU 1) against --workers 2 (CPUs 0,1), $WORKERS_REPEAT alternating runs"
	: >"$OUT/workers.jsonl"
	for entry in "${WORKER_SCENARIOS[@]}"; do
		name=${entry%%|*}
		for run in $(seq "$WORKERS_REPEAT"); do
			order="1 2"
			[ $((run % 2)) -eq 0 ] && order="2 1"
			for w in $order; do
				port=$(free_port)
				cpus=1
				[ "$w" -gt 1 ] && cpus=0,1
				start_herald "$port" "$cpus" --workers "$w" || { stop_herald; continue; }
				args=${entry#*|}
				args=${args//\$URL/ws://127.0.0.1:$port}
				args=${args//\$PID/$HERALD_PID}
				log "$name workers=$w run $run: herald-bench $args"
				line=$(timeout 300 taskset -c 0 "$BENCH" $args 2>>"$OUT/workers.log" | tail -1)
				echo "{\"scenario\":\"$name\",\"workers\":$w,\"run\":$run,\"result\":${line:-null}}" >>"$OUT/workers.jsonl"
				stop_herald
			done
		done
	done
	/usr/bin/python3 "$ROOT/tests/bench/workers_table.py" "$OUT/workers.jsonl" >"$OUT/workers.md"
	cat "$OUT/workers.md"
fi
