#!/usr/bin/env bash
# A rolling update of two logshipper replicas behind nginx `stream` (as
# test/e2e/loadbalancer_test.go) with the REAL peers as forwarding senders:
# bench/loadgen -> rsyslog (omfwd, TCP) or syslog-ng (network(), TCP) ->
# nginx (proxy_half_close, proxy_next_upstream) -> replicas A and B ->
# a real OpenSearch 2.19 node. A is restarted after a third of the stream, B
# after two thirds; every sequence number is then counted (lost, twice).
# Each sender runs with logshipper's drain on (default) and off
# (LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT=0, the control). See bench/README.md
# ("Rolling update with real senders").
#
#   bench/rolling.sh                                   # ~6-9 min here
#   SENDERS=rsyslog DRAIN=on bench/rolling.sh
#
# Settings: SENDERS (rsyslog,syslog-ng), DRAIN (on,off), MESSAGES (200000),
# RATE (10000 msgs/s), STALL (75s), SYSLOG_NG_TIME_REOPEN (its default, 60),
# SYSLOG_NG_FLOW_CONTROL (1; 0 = syslog-ng's default, no flow control),
# OS_PORT (19280), OS_DATA (/tmp/os-rolling; wiped at start, the node is
# stopped at the end unless it was already running). LOGSHIPPER_REF /
# LOGSHIPPER_BIN as for bench/run.sh.
# Results: bench/results/<time>-rolling/{rolling.md,rolling.jsonl,work/}
# and, for a full default run, bench/results/latest-rolling.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

latest="$(full_run SENDERS DRAIN MESSAGES RATE STALL SYSLOG_NG_TIME_REOPEN SYSLOG_NG_FLOW_CONTROL)" # only a full default run replaces bench/results/latest-rolling.md
OS_PORT="${OS_PORT:-19280}"
OS_DATA="${OS_DATA:-/tmp/os-rolling}"

# Own binary directory: the other bench scripts may run at the same time.
build bench/.bin/rolling logshipper loadgen runner
bash bench/peers/install.sh
nginx="$(bash testenv/nginx.sh path)"
opensearch_up "$OS_PORT" "$OS_DATA" rolling.sh

"$bin/runner" rolling "${runner_flags[@]}" \
	-os-port "$OS_PORT" -nginx "$nginx" \
	-senders "${SENDERS:-rsyslog,syslog-ng}" -drain "${DRAIN:-on,off}" \
	-messages "${MESSAGES:-200000}" -rate "${RATE:-10000}" -stall "${STALL:-75s}" \
	-syslog-ng-time-reopen "${SYSLOG_NG_TIME_REOPEN:-}" \
	-syslog-ng-no-flow-control="$([[ "${SYSLOG_NG_FLOW_CONTROL:-1}" == 0 ]] && echo true || echo false)"
