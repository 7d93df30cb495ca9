#!/usr/bin/env bash
# make bench: herald measured the way its peers are, in one run.
#
#  1. herald-bench (this directory's load generator) against herald alone:
#     every scenario, herald pinned to CPU 1 and the generator to CPU 0.
#  2. When ../shared/peers (or $PEERS_DIR) is present: its bench.sh with
#     herald as the subject, so herald and Bun, Go gorilla, Node ws, FastAPI
#     and nchan run the same scenarios with the same generator (wsload) on the
#     same pinning, and its table carries herald/peer ratios. bench.sh is
#     called once per scenario (see below); REPEAT is passed through.
#
# Environment: DUR (seconds per scenario, default 10), SCENARIOS and PEERS
# (passed to bench.sh), OUT (default build/bench/<timestamp>), NO_PEERS=1.
# Results: $OUT/herald-bench.jsonl, $OUT/peers/ (table.md, results.jsonl).
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

# Benchmarks measure the server, not its abuse protection: --rate-limit 0.
HERALD_ARGS="--host 127.0.0.1 --web-root none --log-level warn --rate-limit 0 --max-connections 1000000"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--loglevel warning >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
HERALD_PID=""
PEER_REDIS_PID=""
cleanup() {
	[ -n "$HERALD_PID" ] && kill "$HERALD_PID" 2>/dev/null
	[ -n "$PEER_REDIS_PID" ] && kill "$PEER_REDIS_PID" 2>/dev/null
	kill "$REDIS_PID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

start_herald() {
	local port=$1
	taskset -c 1 "$HERALD" $HERALD_ARGS --port "$port" \
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

# name, then herald-bench arguments ($URL and $PID are substituted)
SCENARIO_LIST=(
	"echo100|echo -url \$URL -c 100 -s 32 -d ${DUR}s -warmup 2s -pid \$PID"
	"echo1000|echo -url \$URL -c 1000 -s 32 -d ${DUR}s -warmup 2s -pid \$PID"
	"fanout1k|fanout -url \$URL -k 1000 -r 10 -d ${DUR}s -trigger ws -pid \$PID"
	"fanout10k|fanout -url \$URL -k 10000 -r 10 -d ${DUR}s -trigger ws -pid \$PID"
	"fanout10k_redis|fanout -url \$URL -k 10000 -r 10 -d ${DUR}s -trigger redis -redis 127.0.0.1:$REDIS_PORT -channel herald:broadcast -pid \$PID"
	"idle10k|idle -url \$URL -c 10000 -hold 5s -pid \$PID"
	"connect|connect -url \$URL -d ${DUR}s -conc 32 -pid \$PID"
)

log "phase 1: herald-bench against herald (results in $OUT/herald-bench.jsonl)"
: >"$OUT/herald-bench.jsonl"
for entry in "${SCENARIO_LIST[@]}"; do
	name=${entry%%|*}
	port=$(free_port)
	start_herald "$port" || continue
	args=${entry#*|}
	args=${args//\$URL/ws://127.0.0.1:$port}
	args=${args//\$PID/$HERALD_PID}
	log "$name: herald-bench $args"
	line=$(timeout 300 taskset -c 0 "$BENCH" $args 2>>"$OUT/herald-bench.log" | tail -1)
	echo "{\"scenario\":\"$name\",\"cmd\":\"herald-bench $args\",\"result\":${line:-null}}" >>"$OUT/herald-bench.jsonl"
	echo "$name: $line"
	stop_herald
done

# bench.sh runs every scenario of one server before the next server; on
# this noisy VM a slow minute then lands on one server's whole row. One
# bench.sh call per scenario keeps each scenario's runs of all servers (and
# their repeats) close together in time; report.py renders the union.
PEER_SCENARIOS=${SCENARIOS:-"echo100 echo1000 fanout1k fanout10k fanout1k_redis fanout10k_redis idle10k idle50k connect"}
if [ -z "${NO_PEERS:-}" ] && [ -x "$PEERS_DIR/bench.sh" ]; then
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
	log "phase 2 skipped (no $PEERS_DIR/bench.sh, or NO_PEERS set)"
fi
