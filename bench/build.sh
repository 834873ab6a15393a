# Sourced by bench/run.sh and bench/os.sh (from the repository root).
# build_logshipper OUT: builds ./cmd/logshipper into OUT and sets
# LOGSHIPPER_DESC. LOGSHIPPER_BIN=path uses that binary instead;
# LOGSHIPPER_REF=commit builds that commit (git archive into a temporary
# directory) instead of the work tree, e.g. while the tree is mid-edit.
build_logshipper() {
	local out="$1" commit dirty
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

# build_tools DIR: loadgen, sink and runner.
build_tools() {
	go build -trimpath -o "$1/loadgen" ./bench/loadgen
	go build -trimpath -o "$1/sink" ./bench/sink
	go build -trimpath -o "$1/runner" ./bench/runner
}
