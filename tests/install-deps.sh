#!/bin/sh
# Installs the Debian packages herald builds, runs and tests with, when any
# is missing (make deps). Needs root or sudo for apt-get.
set -eu
PKGS="build-essential pkg-config libwebsockets-dev libwebsockets-evlib-ev libev-dev
libjansson-dev libhiredis-dev libsystemd-dev
libssl-dev uthash-dev redis-server redis-tools nodejs npm curl openssl
chromium clang libclang-rt-14-dev
dpkg-dev man-db systemd python3 python3-fastapi python3-uvicorn python3-redis
golang-go golang-github-gin-gonic-gin-dev golang-github-gomodule-redigo-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# nodejs may come from outside Debian (e.g. nodesource); accept any node+npm
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo "$missing" | xargs)
[ -z "$missing" ] && exit 0
echo "installing: $missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
