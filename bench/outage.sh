#!/usr/bin/env bash
# The outage test of test/e2e (OpenSearch stopped for 30 s in the middle of a
# 200,000-message stream) run on logshipper (memory and disk buffer),
# rsyslog and syslog-ng, each with its DEFAULT queue settings, against a
# real OpenSearch 2.19 node; prints a markdown table of delivered, lost and
# duplicated messages (exact: every document is fetched and its sequence
# number counted). See bench/README.md ("Outage comparison").
#
#   bench/outage.sh                                   # ~10-12 min here
#   SHIPPERS=logshipper,syslog-ng bench/outage.sh
#
# Settings: SHIPPERS (logshipper,logshipper-disk,rsyslog,syslog-ng),
# MESSAGES (200000), RATE (10000 msgs/s; 0 = as fast as possible),
# STOP_AT (50000 indexed), DOWN (30s), STALL (75s), SETTLE_CAP (3m),
# OS_PORT (19270). LOGSHIPPER_REF / LOGSHIPPER_BIN as for bench/run.sh.
# Results: bench/results/<time>-outage/{outage.md,outage.jsonl,work/} and,
# for a full default run, bench/results/latest-outage.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

latest="$(full_run SHIPPERS MESSAGES RATE STOP_AT DOWN STALL SETTLE_CAP)" # only a full default run replaces bench/results/latest-outage.md
SHIPPERS="${SHIPPERS:-logshipper,logshipper-disk,rsyslog,syslog-ng}"
OS_PORT="${OS_PORT:-19270}"

# Own binary directory: bench/run.sh or os.sh may be running at the same time.
build bench/.bin/outage logshipper loadgen runner
install_peers_for "$SHIPPERS"
temp_dir data outage
opensearch_up "$OS_PORT" "$data"

"$bin/runner" outage "${runner_flags[@]}" \
	-os-port "$OS_PORT" -os-data "$data" -shippers "$SHIPPERS" \
	-messages "${MESSAGES:-200000}" -rate "${RATE:-10000}" -stop-at "${STOP_AT:-50000}" \
	-down "${DOWN:-30s}" -stall "${STALL:-75s}" -settle-cap "${SETTLE_CAP:-3m}"
