#!/usr/bin/env bash
# Fetches Debian's nginx with its stream module, for the end-to-end test that
# stands in for Docker Swarm's routing mesh with a TCP and UDP load balancer
# (test/e2e/loadbalancer_test.go). As bench/peers/install.sh does for
# rsyslog, the .deb files are fetched with `apt-get download` and unpacked
# with `dpkg -x` into a cache folder (testenv/deb.sh): nothing is installed system-wide, no
# service is started. Idempotent: downloads nothing when the binary and the
# module are already unpacked.
#
#   testenv/nginx.sh            # fetch if needed; print the binary's and the module's path
#   testenv/nginx.sh path       # fetch if needed; print the binary's path only
#   testenv/nginx.sh module     # fetch if needed; print ngx_stream_module.so's path only
#
# NGINX_DIR overrides the cache folder (default testenv/.nginx); the packages
# are unpacked into <cache>/root. Exits 1, saying why, when the packages
# cannot be fetched, a library is missing or the binary does not run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${NGINX_DIR:-$here/.nginx}"
what="${1:-all}"
case "$what" in
all | path | module) ;;
*) echo "usage: testenv/nginx.sh [path|module]" >&2; exit 2 ;;
esac

pkgs=(nginx nginx-common libnginx-mod-stream)
bin_rel=usr/sbin/nginx
mod_rel=usr/lib/nginx/modules/ngx_stream_module.so

fail() { echo "nginx.sh: $*" >&2; exit 1; }
have() { [[ -x "$cache/root/$bin_rel" && -f "$cache/root/$mod_rel" ]]; }
# shellcheck source=deb.sh
source "$here/deb.sh"

if ! have; then
	deb_unpack "$cache" "${pkgs[@]}"
	have || fail "unpacked, but $bin_rel or $mod_rel is not there"
fi
root="$(cd "$cache/root" && pwd)"

# The binary and the module come from the same Debian release as the system
# libraries they link; a missing one would only show when the test starts.
for f in "$root/$bin_rel" "$root/$mod_rel"; do
	missing=$(ldd "$f" 2>&1 | grep 'not found' || true)
	[[ -z "$missing" ]] || fail "$f: missing libraries:"$'\n'"$missing"
done
"$root/$bin_rel" -v >/dev/null 2>&1 || fail "$root/$bin_rel -v does not run"

case "$what" in
all) echo "$root/$bin_rel"; echo "$root/$mod_rel" ;;
path) echo "$root/$bin_rel" ;;
module) echo "$root/$mod_rel" ;;
esac
