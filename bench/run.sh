#!/usr/bin/env bash
# Throughput bench of issue 3: logshipper vs rsyslog vs syslog-ng, one at a
# time, into the same Elasticsearch-shaped sink (bench/sink), on this machine.
#
#   bench/run.sh                      # default: 3 rounds, 1,000,000 messages per TCP run (~10-20 min)
#   ROUNDS=1 bench/run.sh             # one round
#   QUICK=1 bench/run.sh              # smoke: 200,000 messages, 1 round, UDP and steady 50k/s for 4 s
#   MESSAGES=500000 SHIPPERS=logshipper,rsyslog SCENARIOS=tcp1-rfc3164,udp-rfc3164 bench/run.sh
#   SCENARIOS=tcp1-rfc3164,tcp1-rfc3164-varied bench/run.sh   # varied content (loadgen -vary)
#
# Environment: ROUNDS (3), MESSAGES (1000000), SHIPPERS (logshipper,rsyslog,syslog-ng),
# SCENARIOS (tcp1-rfc3164,tcp1-rfc5424,tcp1-raw,tcp8-rfc3164,steady8-rfc3164,udp-rfc3164;
# also tcpN-octet etc.; any of them + -varied: a pool of distinct messages;
# tcp1-/tcp8- send as fast as the shipper reads, steady8- at STEADY_RATE over 8
# connections; steady<N>- over N, e.g. SCENARIOS=steady200-rfc3164 STEADY_RATE=2000
# STEADY_DURATION=20s: 200 devices of 10 msgs/s each), UDP_RATE (100000), UDP_DURATION (10s), STEADY_RATE (100000),
# STEADY_DURATION (10s), QUICK,
# PEER_CONF_DIR (bench/peers: where rsyslog.conf.in and syslog-ng.conf.in are,
# to try other peer settings), LOGSHIPPER_REF (build logshipper from this git
# commit instead of the work tree), LOGSHIPPER_BIN (use this binary).
# Builds logshipper, loadgen, sink and runner into bench/.bin; installs the
# peers into bench/.peers (apt-get download + dpkg -x, see peers/install.sh);
# prints one markdown table per scenario and writes bench/results/<time>/
# {results.jsonl,results.csv,table.md} and bench/results/latest.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

# Only a full default run (all scenarios and shippers, 1M messages, >= 3
# rounds) replaces bench/results/latest.md.
latest="$(full_run --rounds SCENARIOS SHIPPERS MESSAGES QUICK PEER_CONF_DIR UDP_RATE UDP_DURATION STEADY_RATE STEADY_DURATION)"
size_run "${QUICK_MESSAGES:-200000}"
SHIPPERS="${SHIPPERS:-logshipper,rsyslog,syslog-ng}"
SCENARIOS="${SCENARIOS:-tcp1-rfc3164,tcp1-rfc5424,tcp1-raw,tcp8-rfc3164,steady8-rfc3164,udp-rfc3164}"
UDP_RATE="${UDP_RATE:-100000}"
UDP_DURATION="${UDP_DURATION:-10s}"
STEADY_RATE="${STEADY_RATE:-100000}"
STEADY_DURATION="${STEADY_DURATION:-10s}"
if quick; then
	UDP_RATE=50000 STEADY_RATE=50000
	UDP_DURATION=4s STEADY_DURATION=4s
fi

tools=(loadgen sink runner)
if [[ ",$SHIPPERS," == *",logshipper,"* || ",$SHIPPERS," == *",logshipper-disk,"* ]]; then
	tools=(logshipper "${tools[@]}")
fi
build bench/.bin "${tools[@]}"
install_peers_for "$SHIPPERS"

exec "$bin/runner" "${runner_flags[@]}" \
	-rounds "$ROUNDS" -messages "$MESSAGES" -shippers "$SHIPPERS" -scenarios "$SCENARIOS" \
	-udp-rate "$UDP_RATE" -udp-duration "$UDP_DURATION" -steady-rate "$STEADY_RATE" -steady-duration "$STEADY_DURATION" -peer-conf-dir "${PEER_CONF_DIR:-bench/peers}"
