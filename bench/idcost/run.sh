#!/usr/bin/env bash
# Measures what OpenSearch pays to index with logshipper's own _id (op_type
# create, elasticsearch.document_id=event) versus auto ids (=auto), through
# the logshipper binary, same input, into the real OpenSearch of testenv/.
# One warm-up run (the JVM's JIT), then ROUNDS alternating rounds; medians.
# Usage: bash bench/idcost/run.sh   (N=300000 ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-300000}
PORT=${PORT:-19260}
DATA=$(mktemp -d)
go build -o /tmp/ls-idcost ./cmd/logshipper
bash testenv/opensearch.sh start --port $PORT --data $DATA --clean >/dev/null
trap 'bash testenv/opensearch.sh stop --port $PORT --data $DATA >/dev/null; rm -rf $DATA' EXIT
ospid=$(cat $DATA/node.pid)
gen=$(mktemp); 
python3 - "$N" > $gen <<'PY'
import sys
n=int(sys.argv[1])
out=sys.stdout
for i in range(n):
    out.write(f"<14>Nov 26 12:00:00 host{i%50} app[{i%999}]: idcost message number {i:09d} with some more text to reach about 150 bytes ok\n")
PY
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
ROUNDS=${ROUNDS:-3}
results=$(mktemp)
for round in $(seq 0 $ROUNDS); do
for mode in auto event; do
  idx="idcost-$mode-$round"
  /tmp/ls-idcost --listen 127.0.0.1:10599 --http.listen 127.0.0.1:9699 \
     --elasticsearch.urls http://127.0.0.1:$PORT --elasticsearch.index $idx \
     --elasticsearch.template.name $idx --elasticsearch.template.replicas 0 \
     --elasticsearch.document_id $mode --log.level warn --dead_letter.path /tmp/idcost-dlq.ndjson &
  lspid=$!
  until curl -sf 127.0.0.1:9699/readyz >/dev/null; do sleep 0.2; done
  os0=$(cpu $ospid); ls0=$(cpu $lspid); t0=$(date +%s.%N)
  cat $gen > /dev/tcp/127.0.0.1/10599
  until [ "$(curl -s 127.0.0.1:9699/metrics | awk '/^logshipper_events_indexed_total /{print $2}')" = "$N" ]; do sleep 0.1; done
  t1=$(date +%s.%N); os1=$(cpu $ospid); ls1=$(cpu $lspid)
  kill $lspid; wait $lspid || true
  hz=$(getconf CLK_TCK)
  python3 -c "
n=$N; dt=$t1-$t0; osc=($os1-$os0)/$hz; lsc=($ls1-$ls0)/$hz
print(f'$mode $round {n/dt:.0f} {osc/n*1e6:.1f} {lsc/n*1e6:.2f}')" | tee -a $results
  curl -s -XDELETE 127.0.0.1:$PORT/$idx >/dev/null
done
done
echo
echo "| document_id | msgs/s | OpenSearch CPU-s per 1M | logshipper CPU-s per 1M |"
echo "|---|---|---|---|"
python3 - "$results" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for mode in ("auto", "event"):
    r = [x for x in rows if x[0] == mode and x[1] != "0"]  # round 0 is the warm-up
    med = lambda i: statistics.median(float(x[i]) for x in r)
    print(f"| {mode} | {med(2):,.0f} | {med(3):.1f} | {med(4):.2f} |")
PY
