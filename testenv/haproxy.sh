#!/usr/bin/env bash
# Fetches Debian's HAProxy, for the end-to-end test of the PROXY protocol
# (test/e2e/proxyproto_test.go: HAProxy in front of logshipper with
# send-proxy and send-proxy-v2). As testenv/nginx.sh does for nginx, the .deb
# is fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
# folder: the binary is not installed system-wide and no service is started.
# Its shared libraries (Lua, PCRE2, OpenSSL, libsystemd, the OpenTracing
# wrapper) are plain library packages; the ones ldd finds missing are
# installed with apt-get, as bench/peers/install.sh does for the peers.
# Idempotent: downloads nothing when the binary is unpacked and runs.
#
#   testenv/haproxy.sh          # fetch if needed; print the binary's path and version
#   testenv/haproxy.sh path     # fetch if needed; print the binary's path only
#
# HAPROXY_DIR overrides the cache folder (default testenv/.haproxy); the
# package is unpacked into <cache>/root. Exits 1, saying why, when the package
# cannot be fetched, a library cannot be installed or the binary does not run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${HAPROXY_DIR:-$here/.haproxy}"
what="${1:-all}"
case "$what" in
all | path) ;;
*) echo "usage: testenv/haproxy.sh [path]" >&2; exit 2 ;;
esac

pkg=haproxy
bin_rel=usr/sbin/haproxy
# The library packages haproxy depends on (Debian 12's haproxy 2.6).
libs=(libcrypt1 liblua5.3-0 libopentracing-c-wrapper0 libpcre2-8-0 libssl3 libsystemd0)

fail() { echo "haproxy.sh: $*" >&2; exit 1; }
have() { [[ -x "$cache/root/$bin_rel" ]]; }
missing_libs() { ldd "$cache/root/$bin_rel" 2>&1 | grep 'not found' || true; }

export DEBIAN_FRONTEND=noninteractive
if ! have; then
	command -v apt-get >/dev/null || fail "needs apt-get and dpkg (Debian/Ubuntu)"
	if ! apt-cache show "$pkg" >/dev/null 2>&1; then
		apt-get update -qq >&2
	fi
	mkdir -p "$cache"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	chmod 777 "$tmp" # apt-get download runs as _apt
	(cd "$tmp" && apt-get download -qq "$pkg") >&2 || fail "apt-get download $pkg failed"
	rm -rf "$cache/root" "$cache/root.new"
	mkdir -p "$cache/root.new"
	dpkg -x "$tmp/${pkg}_"*.deb "$cache/root.new"
	mv "$cache/root.new" "$cache/root"
	(cd "$tmp" && dpkg-deb -f "${pkg}_"*.deb Package Version | paste -sd' ') >"$cache/VERSIONS"
	echo "haproxy.sh: unpacked into $cache/root:" >&2
	cat "$cache/VERSIONS" >&2
	have || fail "unpacked, but $bin_rel is not there"
fi
root="$(cd "$cache/root" && pwd)"

if [[ -n "$(missing_libs)" ]]; then
	[[ "$(id -u)" = 0 ]] || fail "$root/$bin_rel: missing libraries, and installing them needs root:"$'\n'"$(missing_libs)"
	echo "haproxy.sh: installing libraries: ${libs[*]}" >&2
	if ! apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null 2>&1; then
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null || fail "apt-get install ${libs[*]} failed"
	fi
	[[ -z "$(missing_libs)" ]] || fail "$root/$bin_rel: still missing libraries:"$'\n'"$(missing_libs)"
fi
"$root/$bin_rel" -v >/dev/null 2>&1 || fail "$root/$bin_rel -v does not run"

case "$what" in
all) echo "$root/$bin_rel"; "$root/$bin_rel" -v | head -1 ;;
path) echo "$root/$bin_rel" ;;
esac
