#!/usr/bin/env bash
# logshipper into a real OpenSearch 2.19 node vs a direct _bulk loader of the
# same documents (OpenSearch's own ceiling on this machine), with
# logshipper's CPU beside OpenSearch's (the JVM's).
#
#   bench/os.sh                  # 1,000,000 RFC3164 messages, 3 rounds
#   ROUNDS=1 MESSAGES=200000 bench/os.sh
#
# Starts OpenSearch with testenv/opensearch.sh on port OS_PORT (19250) with
# a throw-away data directory, and stops it at the end. Results:
# bench/results/<time>/opensearch.{md,jsonl} and bench/results/latest-opensearch.md.
# LOGSHIPPER_REF / LOGSHIPPER_BIN as for bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

latest=false
if [[ -z "${MESSAGES:-}" && -z "${QUICK:-}" && "${ROUNDS:-3}" -ge 3 ]]; then
	latest=true # only a full default run replaces bench/results/latest-opensearch.md
fi
ROUNDS="${ROUNDS:-3}"
MESSAGES="${MESSAGES:-1000000}"
OS_PORT="${OS_PORT:-19250}"
if [[ -n "${QUICK:-}" && "${QUICK}" != 0 ]]; then
	ROUNDS=1
	MESSAGES=200000
fi
data="$(mktemp -d /tmp/logshipper-bench-os.XXXXXX)"

bin=bench/.bin
mkdir -p "$bin"
source bench/build.sh
build_logshipper "$bin/logshipper"
build_tools "$bin"

cleanup() {
	bash testenv/opensearch.sh stop --port "$OS_PORT" --data "$data" >/dev/null 2>&1 || true
	rm -rf "$data"
}
trap cleanup EXIT
bash testenv/opensearch.sh start --port "$OS_PORT" --data "$data" --clean
pid="$(cat "$data/node.pid")"

"$bin/runner" -bench-dir bench -bin-dir "$bin" -out bench/results \
	-rounds "$ROUNDS" -messages "$MESSAGES" \
	-opensearch "http://127.0.0.1:$OS_PORT" -opensearch-pid "$pid" -logshipper-desc "$LOGSHIPPER_DESC" -latest="$latest"
