#!/usr/bin/env bash
# logshipper into a real OpenSearch 2.19 node vs a direct _bulk loader of the
# same documents (OpenSearch's own ceiling on this machine), with
# logshipper's CPU beside OpenSearch's (the JVM's).
#
#   bench/os.sh                  # 1,000,000 RFC3164 messages, 3 rounds
#   ROUNDS=1 MESSAGES=200000 bench/os.sh
#   TEMPLATES=compatible,logstash7,lean bench/os.sh
#   VARY=1 TEMPLATES=compatible,logstash7,lean bench/os.sh   # varied content
#   DOCUMENT_ID=auto VARY=1 TEMPLATES=logstash7,lean bench/os.sh   # cluster-assigned _id
#
# With TEMPLATES, the index templates are compared instead: logshipper ships
# the same messages under each (compatible and lean: its
# elasticsearch.template.mode; logstash7: Logstash 7's default template,
# outputs/elasticsearch/testdata/logstash-template/), rounds rotating, with
# OpenSearch's CPU and the index's size on disk before and after a
# forcemerge. Results: bench/results/<time>/opensearch-templates.{md,jsonl}
# and bench/results/latest-opensearch-templates.md (a full run: 3 rounds,
# 1,000,000 messages, the three templates). A file NAME.json in the list is a
# variant: that template body, installed by the runner for the bench index.
# VARY=1 sends varied content (loadgen -vary) instead of copies of one
# message: results opensearch-templates-varied.{md,jsonl}, and a full run
# replaces bench/results/latest-opensearch-templates-varied.md.
# DOCUMENT_ID=auto runs logshipper with elasticsearch.document_id auto (the
# cluster assigns each _id, as Logstash does) instead of its own _id:
# results and latest file names end in -auto-id.
#
# Starts OpenSearch with testenv/opensearch.sh on port OS_PORT (19250) with
# a throw-away data directory, and stops it at the end. Results:
# bench/results/<time>/opensearch.{md,jsonl} and bench/results/latest-opensearch.md.
# LOGSHIPPER_REF / LOGSHIPPER_BIN as for bench/run.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

latest="$(full_run --rounds MESSAGES QUICK)" # only a full default run replaces bench/results/latest-opensearch*.md
TEMPLATES="${TEMPLATES:-}"
if [[ -n "$TEMPLATES" ]]; then
	# The templates' table replaces latest-opensearch-templates.md when it
	# holds the three (variants, NAME.json files, may come beside them).
	for t in compatible logstash7 lean; do
		[[ ",$TEMPLATES," == *",$t,"* ]] || latest=false
	done
fi
size_run 200000
OS_PORT="${OS_PORT:-19250}"
temp_dir data os

build bench/.bin logshipper loadgen sink runner
opensearch_up "$OS_PORT" "$data"
pid="$(cat "$data/node.pid")"

"$bin/runner" "${runner_flags[@]}" -rounds "$ROUNDS" -messages "$MESSAGES" \
	-opensearch "http://127.0.0.1:$OS_PORT" -opensearch-pid "$pid" -opensearch-templates "$TEMPLATES" \
	-opensearch-vary="$([[ "${VARY:-}" == 1 ]] && echo true || echo false)" \
	-opensearch-document-id "${DOCUMENT_ID:-event}"
