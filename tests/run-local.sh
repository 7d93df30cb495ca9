#!/bin/sh
# make run: starts herald on :8080 with the dashboard. When herald is to use
# the default local Redis and nothing answers there, a redis-server is
# started for the session and stopped when herald exits.
set -u
BIN=$1
shift
URL=${HERALD_REDIS_URL:-redis://127.0.0.1:6379}
redis_pid=""
cleanup() {
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
}
trap cleanup EXIT INT TERM
if [ "$URL" = "redis://127.0.0.1:6379" ] && ! redis-cli -p 6379 ping >/dev/null 2>&1; then
	echo "run: starting redis-server on 127.0.0.1:6379 for this session"
	redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
		--loglevel warning &
	redis_pid=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		redis-cli -p 6379 ping >/dev/null 2>&1 && break
		sleep 0.2
	done
fi
echo "run: herald on http://localhost:8080/ (dashboard), ws://localhost:8080/ws/<client_id>; Ctrl-C stops"
"$BIN" "$@"
