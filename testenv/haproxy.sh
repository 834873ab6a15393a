#!/usr/bin/env bash
# Fetches Debian's HAProxy, for the end-to-end test of the PROXY protocol
# (test/e2e/proxyproto_test.go: HAProxy in front of logshipper with
# send-proxy and send-proxy-v2). As testenv/nginx.sh does for nginx, the .deb
# is fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
# folder (testenv/deb.sh): the binary is not installed system-wide and no
# service is started.
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
# shellcheck source=deb.sh
source "$here/deb.sh"

[[ -x "$cache/root/$bin_rel" ]] || deb_unpack "$cache" "$pkg"
[[ -x "$cache/root/$bin_rel" ]] || fail "unpacked, but $bin_rel is not there"
root="$(cd "$cache/root" && pwd)"
deb_libs "$root/$bin_rel" "${libs[@]}"
"$root/$bin_rel" -v >/dev/null 2>&1 || fail "$root/$bin_rel -v does not run"

case "$what" in
all) echo "$root/$bin_rel"; "$root/$bin_rel" -v | sed -n 1p ;;
path) echo "$root/$bin_rel" ;;
esac
