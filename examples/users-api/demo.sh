#!/bin/sh
# make demo: the FastAPI Users API (app.py) beside the herald of `make run`,
# which runs in another terminal with its Redis. Starts the API on a free
# port (USERS_API_PORT to choose), drives it with a few curl calls that
# create, update and delete users (watch http://localhost:8080/ and a wscat
# subscribed to `users`), then keeps it running for your own calls until
# Ctrl-C. The users live in a temporary SQLite file, gone when it stops.
#
# Environment: REDIS_URL (default HERALD_REDIS_URL, else
# redis://127.0.0.1:6379: make run's), HERALD_REDIS_PREFIX (default herald:),
# HERALD_HTTP (herald, for a readiness hint; default http://127.0.0.1:8080),
# DEMO_PAUSE (seconds between calls, default 1.5), DEMO_EXIT=1 (stop after
# the calls), USERS_API_PYTHON (default /usr/bin/python3: Debian's, which
# has python3-fastapi).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${USERS_API_PYTHON:-/usr/bin/python3}
export REDIS_URL=${REDIS_URL:-${HERALD_REDIS_URL:-redis://127.0.0.1:6379}}
export HERALD_REDIS_PREFIX=${HERALD_REDIS_PREFIX:-herald:}
HERALD_HTTP=${HERALD_HTTP:-http://127.0.0.1:8080}
PAUSE=${DEMO_PAUSE:-1.5}

if ! "$PY" -c 'import fastapi, uvicorn, redis' 2>/dev/null; then
	echo "demo: $PY cannot import fastapi, uvicorn and redis:" \
		"make deps (apt-get install python3-fastapi python3-uvicorn python3-redis)" >&2
	exit 1
fi
if ! "$PY" -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"],
		socket_connect_timeout=2).ping()' 2>/dev/null; then
	echo "demo: no Redis answers at $REDIS_URL: start herald with \`make run\`" \
		"in another terminal first (it starts a redis-server when none runs)" >&2
	exit 1
fi
curl -sf -o /dev/null "$HERALD_HTTP/health" ||
	echo "demo: no herald answers at $HERALD_HTTP (make run): the events go to Redis all the same"

PORT=${USERS_API_PORT:-$("$PY" -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
API=http://127.0.0.1:$PORT
DB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/users-api.XXXXXX")
api_pid=""
cleanup() {
	if [ -n "$api_pid" ]; then
		kill "$api_pid" 2>/dev/null
		wait "$api_pid" 2>/dev/null
	fi
	rm -rf "$DB_DIR"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

USERS_DB=$DB_DIR/users.db "$PY" -m uvicorn app:app --app-dir "$HERE" \
	--host 127.0.0.1 --port "$PORT" --log-level warning &
api_pid=$!
for _ in $(seq 100); do
	curl -sf -o /dev/null "$API/users" && break
	kill -0 "$api_pid" 2>/dev/null || { echo "demo: the Users API did not start" >&2; exit 1; }
	sleep 0.1
done
echo "demo: Users API on $API, publishing to ${HERALD_REDIS_PREFIX}users on $REDIS_URL"

# call METHOD PATH [JSON]: shows the curl command and the API's answer
call() {
	echo
	if [ $# -ge 3 ]; then
		echo "\$ curl -X $1 $API$2 -H 'Content-Type: application/json' -d '$3'"
		curl -sS -X "$1" "$API$2" -H 'Content-Type: application/json' -d "$3" -w '  [%{http_code}]\n'
	else
		echo "\$ curl -X $1 $API$2"
		curl -sS -X "$1" "$API$2" -w '  [%{http_code}]\n'
	fi
	sleep "$PAUSE"
}

call POST /users '{"email":"ada@example.com","name":"Ada Lovelace"}'
call POST /users '{"email":"grace@example.com","name":"Grace Hopper"}'
call POST /users '{"email":"linus@example.com","name":"Linus Torvalds"}'
call PUT /users/2 '{"is_active":false}'
call PUT /users/1 '{"name":"Ada King","email":"ada.king@example.com"}'
call DELETE /users/3
call POST /users '{"email":"not-an-email","name":"Refused"}'
call GET /users

[ "${DEMO_EXIT:-0}" = 1 ] && exit 0
echo
echo "demo: the Users API stays on $API for your own calls, e.g."
echo "  curl -X POST $API/users -H 'Content-Type: application/json' -d '{\"email\":\"you@example.com\",\"name\":\"You\"}'"
echo "demo: Ctrl-C stops it"
wait "$api_pid"
