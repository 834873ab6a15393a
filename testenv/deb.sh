# shellcheck shell=bash
# Debian packages for the tests without installing them: the .deb files are
# fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
# folder; no service is started, nothing lands in /usr. Sourced by
# nginx.sh, haproxy.sh and redis.sh, which set `fail` first.
#
#   deb_unpack CACHE PKG...        unpack PKG... into CACHE/root (replacing it),
#                                  their versions into CACHE/VERSIONS
#   deb_libs BINARY LIBPKG...      when ldd finds a library of BINARY missing,
#                                  install LIBPKG... (plain library packages) with apt-get

deb_unpack() {
	local cache="$1" tmp
	shift
	command -v apt-get >/dev/null || fail "needs apt-get and dpkg (Debian/Ubuntu)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-cache show "$@" >/dev/null 2>&1; then
		apt-get update -qq >&2
	fi
	mkdir -p "$cache"
	tmp="$(mktemp -d)"
	chmod 777 "$tmp" # apt-get download runs as _apt
	(cd "$tmp" && apt-get download -qq "$@") >&2 || { rm -rf "$tmp"; fail "apt-get download $* failed"; }
	rm -rf "$cache/root" "$cache/root.new"
	mkdir -p "$cache/root.new"
	local p
	for p in "$@"; do dpkg -x "$tmp/${p}_"*.deb "$cache/root.new"; done
	mv "$cache/root.new" "$cache/root"
	(cd "$tmp" && for f in *.deb; do dpkg-deb -f "$f" Package Version | paste -sd' '; done) >"$cache/VERSIONS"
	rm -rf "$tmp"
	echo "$(basename "$0"): unpacked into $cache/root:" >&2
	cat "$cache/VERSIONS" >&2
}

deb_missing_libs() { ldd "$1" 2>&1 | grep 'not found' || true; }

deb_libs() {
	local bin="$1"
	shift
	[[ -z "$(deb_missing_libs "$bin")" ]] && return 0
	[[ "$(id -u)" = 0 ]] || fail "$bin: missing libraries, and installing them needs root:"$'\n'"$(deb_missing_libs "$bin")"
	echo "$(basename "$0"): installing libraries: $*" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null || fail "apt-get install $* failed"
	fi
	[[ -z "$(deb_missing_libs "$bin")" ]] || fail "$bin: still missing libraries:"$'\n'"$(deb_missing_libs "$bin")"
}
