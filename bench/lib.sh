# Sourced by the bench scripts (run.sh, os.sh, queue.sh, outage.sh,
# rolling.sh): what they have in common. Works from the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# full_run [--rounds] VAR...: prints true when none of the named settings
# is set (with --rounds, also ROUNDS, default 3, is at least 3): only such a
# full default run replaces its bench/results/latest*.md.
full_run() {
	local rounds=false v
	if [[ "${1:-}" == --rounds ]]; then
		rounds=true
		shift
	fi
	for v in "$@"; do
		[[ -z "${!v:-}" ]] || { echo false; return; }
	done
	if $rounds && ! [[ "${ROUNDS:-3}" -ge 3 ]]; then
		echo false
		return
	fi
	echo true
}

# quick: QUICK is set (and not 0).
quick() { [[ -n "${QUICK:-}" && "${QUICK}" != 0 ]]; }

# size_run QUICK_COUNT: ROUNDS (3) and MESSAGES (1000000), or 1 round of
# QUICK_COUNT messages with QUICK.
size_run() {
	ROUNDS="${ROUNDS:-3}"
	MESSAGES="${MESSAGES:-1000000}"
	if quick; then
		ROUNDS=1
		MESSAGES="$1"
	fi
}

# at_exit CMD: CMD is run (eval) when the script exits, also on failure;
# the last registered runs first. The script's exit status is kept.
_at_exit=()
at_exit() {
	_at_exit=("$1" "${_at_exit[@]}")
	trap _run_at_exit EXIT
}
_run_at_exit() {
	local rc=$? c
	trap - EXIT INT TERM HUP
	for c in "${_at_exit[@]}"; do
		eval "$c" || true
	done
	exit "$rc"
}

# temp_dir VAR NAME: VAR is a new /tmp/logshipper-bench-NAME.XXXXXX,
# removed at exit.
temp_dir() {
	local _tmp
	_tmp="$(mktemp -d "/tmp/logshipper-bench-$2.XXXXXX")"
	printf -v "$1" %s "$_tmp"
	at_exit "rm -rf '$_tmp'"
}

# opensearch_up PORT DATA [SCRIPT]: starts an OpenSearch node
# (testenv/opensearch.sh) on PORT with its data in DATA (wiped first) and
# stops it at exit. With SCRIPT (the caller's name), a node already running
# there is used instead, and left running.
opensearch_up() {
	if [[ -n "${3:-}" ]] && bash testenv/opensearch.sh status --port "$1" --data "$2" >/dev/null 2>&1; then
		echo "$3: reusing the OpenSearch node already running on $1 ($2)" >&2
		return
	fi
	at_exit "bash testenv/opensearch.sh stop --port '$1' --data '$2' >/dev/null 2>&1"
	bash testenv/opensearch.sh start --port "$1" --data "$2" --clean
}

# install_peers_for LIST: installs rsyslog and syslog-ng (peers/install.sh)
# if the comma-separated LIST names one of them.
install_peers_for() {
	if [[ ",$1," == *,rsyslog,* || ",$1," == *,syslog-ng,* ]]; then
		bash bench/peers/install.sh
	fi
}

# build_logshipper OUT: builds ./cmd/logshipper into OUT and sets
# LOGSHIPPER_DESC. LOGSHIPPER_BIN=path uses that binary instead;
# LOGSHIPPER_REF=commit builds that commit (git archive into a temporary
# directory) instead of the work tree, e.g. while the tree is mid-edit.
LOGSHIPPER_DESC=""
build_logshipper() {
	local out="$1" commit dirty
	# What an earlier LOGSHIPPER_BIN run copied here may be a wrapper
	# script, which go build refuses to overwrite ("not an object file").
	rm -f "$out"
	if [[ -n "${LOGSHIPPER_BIN:-}" ]]; then
		cp "$LOGSHIPPER_BIN" "$out"
		LOGSHIPPER_DESC="binary $LOGSHIPPER_BIN"
		return
	fi
	if [[ -n "${LOGSHIPPER_REF:-}" ]]; then
		local src absout
		absout="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
		src="$(mktemp -d)"
		git archive "$LOGSHIPPER_REF" | tar -x -C "$src"
		echo "building logshipper from $LOGSHIPPER_REF" >&2
		(cd "$src" && go build -trimpath -o "$absout" ./cmd/logshipper) || { rm -rf "$src"; return 1; }
		rm -rf "$src"
		LOGSHIPPER_DESC="commit $(git rev-parse --short "$LOGSHIPPER_REF")"
		return
	fi
	echo "building logshipper from the work tree" >&2
	go build -trimpath -o "$out" ./cmd/logshipper
	commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	dirty=""
	if [[ -n "$(git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]]; then
		dirty=" + uncommitted changes in the work tree"
	fi
	LOGSHIPPER_DESC="work tree at commit $commit$dirty"
}

# build DIR WHAT...: builds each of WHAT (logshipper, loadgen, sink,
# runner) into DIR (made if missing), sets bin=DIR and runner_flags, the
# flags every bench gives its runner (with $latest, set before).
build() {
	bin="$1"
	shift
	mkdir -p "$bin"
	local w
	for w in "$@"; do
		if [[ "$w" == logshipper ]]; then
			build_logshipper "$bin/logshipper"
		else
			go build -trimpath -o "$bin/$w" "./bench/$w"
		fi
	done
	runner_flags=(-bench-dir bench -bin-dir "$bin" -out bench/results -logshipper-desc "$LOGSHIPPER_DESC" -latest="$latest")
}
