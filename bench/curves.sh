#!/usr/bin/env bash
# How the cost grows with the work (issue 12): msgs/s and the shipper's
# CPU-s per 1,000,000 messages at 1, 8, 64 and 512 TCP connections (150-byte
# RFC3164 messages) and at 100 B, 1 KiB and 8 KiB messages (one
# connection), logshipper beside rsyslog, into the bench sink; medians of
# ROUNDS rounds. See bench/README.md ("Cost curves").
#
#   bench/curves.sh                       # default: 3 rounds, logshipper + rsyslog (~5 min here)
#   QUICK=1 bench/curves.sh               # smoke: 1 round, 100,000 messages (25,000 of 8 KiB)
#   ROUNDS=1 SHIPPERS=logshipper,rsyslog,syslog-ng CONNS=1,64 SIZES=1024 bench/curves.sh
#
# Settings: ROUNDS (3), SHIPPERS (logshipper,rsyslog; also syslog-ng,
# logshipper-disk), CONNS (1,8,64,512), SIZES (100,1024,8192 bytes without
# the LF; none: leave that series out), MESSAGES (1000000 per run), MESSAGES_LARGE (250000 per run of
# messages over LARGE_OVER, 1024, bytes), TIMEOUT (60s: loadgen stops
# writing after it, what it wrote counts as sent; and the wait for the sink
# after sending ends after it), STALL (20s without a new document in the
# sink ends the wait too), PEER_CONF_DIR, QUICK, LATEST (1: copy the report
# to bench/results/latest-curves.md and curves-*.svg even for a partial run;
# 0: never). LOGSHIPPER_REF / LOGSHIPPER_BIN as for bench/run.sh.
# Results: bench/results/<time>-curves/{table.md,results.jsonl,results.csv,
# curves-connections.svg,curves-size.svg,work/} and, for a full default run,
# bench/results/latest-curves.md, curves-connections.svg, curves-size.svg.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

latest="$(full_run --rounds SHIPPERS CONNS SIZES MESSAGES MESSAGES_LARGE LARGE_OVER TIMEOUT STALL QUICK PEER_CONF_DIR)"
case "${LATEST:-}" in
1) latest=true ;;
0) latest=false ;;
esac
size_run "${QUICK_MESSAGES:-100000}"
MESSAGES_LARGE="${MESSAGES_LARGE:-250000}"
if quick; then
	MESSAGES_LARGE=25000
fi
SHIPPERS="${SHIPPERS:-logshipper,rsyslog}"

tools=(loadgen sink runner)
if [[ ",$SHIPPERS," == *",logshipper,"* || ",$SHIPPERS," == *",logshipper-disk,"* ]]; then
	tools=(logshipper "${tools[@]}")
fi
# Own binary directory: another bench may be running from bench/.bin.
build bench/.bin/curves "${tools[@]}"
install_peers_for "$SHIPPERS"

exec "$bin/runner" curves "${runner_flags[@]}" \
	-rounds "$ROUNDS" -shippers "$SHIPPERS" -conns "${CONNS:-1,8,64,512}" -sizes "${SIZES:-100,1024,8192}" \
	-messages "$MESSAGES" -large-messages "$MESSAGES_LARGE" -large-over "${LARGE_OVER:-1024}" \
	-timeout "${TIMEOUT:-60s}" -stall "${STALL:-20s}" -peer-conf-dir "${PEER_CONF_DIR:-bench/peers}"
