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
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

latest="$(full_run --rounds MESSAGES QUICK)" # only a full default run replaces bench/results/latest-opensearch.md
size_run 200000
OS_PORT="${OS_PORT:-19250}"
temp_dir data os

build bench/.bin logshipper loadgen sink runner
opensearch_up "$OS_PORT" "$data"
pid="$(cat "$data/node.pid")"

"$bin/runner" "${runner_flags[@]}" -rounds "$ROUNDS" -messages "$MESSAGES" \
	-opensearch "http://127.0.0.1:$OS_PORT" -opensearch-pid "$pid"
