#!/usr/bin/env bash
# Redis from Debian's packages, for the tests of the Redis output (the
# queue tier between edge shippers and indexers; issue 10). As nginx.sh
# does, the .deb files are fetched with `apt-get download` and unpacked
# with `dpkg -x` into a cache folder (testenv/.redis, by testenv/deb.sh): nothing is installed
# system-wide, no service is started. Fetching is idempotent.
#
#   testenv/redis.sh start --port N [--dir D]   # fetch if needed, start, wait for PING; prints when it is up
#   testenv/redis.sh stop --port N              # stop the server on that port
#   testenv/redis.sh path                       # fetch if needed; print redis-server's path
#
# The server keeps nothing on disk (no RDB, no AOF): a test run starts from
# empty. Exits 1, saying why, when the packages cannot be fetched or the
# server does not answer within 20 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${REDIS_DIR:-$here/.redis}"
pkgs=(redis-server redis-tools liblzf1 libjemalloc2)
fail() { echo "redis.sh: $*" >&2; exit 1; }

# shellcheck source=deb.sh
source "$here/deb.sh"

fetch() {
	[[ -x "$cache/root/usr/bin/redis-server" ]] && return
	deb_unpack "$cache" "${pkgs[@]}"
}

run() { LD_LIBRARY_PATH="$cache/root/usr/lib/x86_64-linux-gnu" "$cache/root/usr/bin/$1" "${@:2}"; }

cmd="${1:-}"
shift || true
port="" dir=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--port) port="$2"; shift 2 ;;
	--dir) dir="$2"; shift 2 ;;
	*) fail "unknown argument $1" ;;
	esac
done

case "$cmd" in
path)
	fetch
	echo "$cache/root/usr/bin/redis-server"
	;;
start)
	[[ -n "$port" ]] || fail "start needs --port N"
	fetch
	dir="${dir:-$(mktemp -d -t logshipper-redis-XXXXXX)}"
	mkdir -p "$dir"
	run redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --pidfile "$dir/redis.pid" \
		--logfile "$dir/redis.log" --dir "$dir" --save "" --appendonly no >/dev/null ||
		fail "redis-server did not start; see $dir/redis.log"
	for _ in $(seq 1 200); do
		if [[ "$(run redis-cli -p "$port" ping 2>/dev/null)" == PONG ]]; then
			echo "redis.sh: $(run redis-server --version | cut -d' ' -f1-3) up on redis://127.0.0.1:$port (pid $(cat "$dir/redis.pid"), log $dir/redis.log)"
			exit 0
		fi
		sleep 0.1
	done
	fail "redis-server on port $port does not answer PING after 20 s; see $dir/redis.log"
	;;
stop)
	[[ -n "$port" ]] || fail "stop needs --port N"
	fetch
	run redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	;;
*)
	echo "usage: testenv/redis.sh start --port N [--dir D] | stop --port N | path" >&2
	exit 2
	;;
esac
