#!/usr/bin/env bash
# Installs the peer shippers for the bench from Debian's packages, without
# installing them as system services: the .deb files are fetched with
# `apt-get download` and unpacked with `dpkg -x` into bench/.peers/<name>/
# (rsyslog and syslog-ng conflict as packages, and the system's own syslog
# must not be touched). Their shared-library dependencies are installed
# normally (plain libraries, no daemons). Idempotent: does nothing when both
# are unpacked and find their libraries.
#
#   bench/peers/install.sh            # -> bench/.peers/rsyslog, bench/.peers/syslog-ng
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${PEERS_DIR:-$here/../.peers}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

rs_pkgs=(rsyslog rsyslog-elasticsearch)
# syslog-ng-mod-http carries the http() destination that the SCL's
# elasticsearch-http() wraps; syslog-ng-scl carries that SCL block.
ng_pkgs=(syslog-ng-core syslog-ng-mod-http syslog-ng-scl)
libs=(libestr0 libfastjson4 liblognorm5 libuuid1 libzstd1 zlib1g libcurl4 libsystemd0
      libcap2 libglib2.0-0 libivykis0 libjson-c5 libnet1 libpcre3 libssl3 libwrap0)

have() {
	[[ -x "$dest/rsyslog/usr/sbin/rsyslogd" && -f "$dest/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so" ]] || return 1
	[[ -x "$dest/syslog-ng/usr/sbin/syslog-ng" && -f "$dest/syslog-ng/usr/lib/syslog-ng/3.38/libhttp.so" ]] || ls "$dest"/syslog-ng/usr/lib/syslog-ng/*/libhttp.so >/dev/null 2>&1 || return 1
	return 0
}

# libs_ok: the unpacked binaries and modules find every shared library
# (on a fresh machine an unpacked folder left from before may lack them).
libs_ok() {
	local f
	for f in "$dest"/rsyslog/usr/sbin/rsyslogd "$dest"/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/*.so \
		"$dest"/syslog-ng/usr/sbin/syslog-ng "$dest"/syslog-ng/usr/lib/syslog-ng/*/*.so; do
		[[ -e "$f" ]] || continue
		if LD_LIBRARY_PATH="$dest/syslog-ng/usr/lib/syslog-ng" ldd "$f" 2>/dev/null | grep 'not found' >/dev/null; then
			return 1
		fi
	done
	return 0
}

if have && libs_ok; then
	exit 0
fi
command -v apt-get >/dev/null || { echo "peers/install.sh: needs apt-get (Debian/Ubuntu)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show rsyslog-elasticsearch >/dev/null 2>&1 || ! apt-cache show syslog-ng-mod-http >/dev/null 2>&1; then
	apt-get update -qq
fi
echo "peers: installing libraries: ${libs[*]}" >&2
apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null
if have && libs_ok; then
	exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp" # apt-get download runs as _apt
(cd "$tmp" && apt-get download -qq "${rs_pkgs[@]}" "${ng_pkgs[@]}")
rm -rf "$dest/rsyslog" "$dest/syslog-ng"
mkdir -p "$dest/rsyslog" "$dest/syslog-ng"
for p in "${rs_pkgs[@]}"; do dpkg -x "$tmp/${p}_"*.deb "$dest/rsyslog"; done
for p in "${ng_pkgs[@]}"; do dpkg -x "$tmp/${p}_"*.deb "$dest/syslog-ng"; done
(cd "$tmp" && for f in *.deb; do dpkg-deb -f "$f" Package Version | paste -sd' '; done) > "$dest/VERSIONS"
echo "peers: unpacked into $dest:" >&2
cat "$dest/VERSIONS" >&2
have || { echo "peers/install.sh: unpacked, but the binaries are not where expected" >&2; exit 1; }
libs_ok || { echo "peers/install.sh: unpacked, but a shared library is still missing (ldd says 'not found')" >&2; exit 1; }
