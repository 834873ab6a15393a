#!/usr/bin/env bash
# The queue-tier bench of issue 10: the same RFC3164 load (1 TCP connection)
# through logshipper alone (direct: edge → bench sink) and through the queue
# tier (edge → Kafka topic with 2 partitions → 1 or 2 indexers; edge →
# Redis stream → 1 indexer), with the CPU of every process, the edge's feed
# rate into the queue and the end-to-end rate.
#
#   bench/queue.sh                          # 1,000,000 messages, 3 rounds of every config
#   MESSAGES=200000 ROUNDS=1 bench/queue.sh # a quick look
#   CONFIGS=direct,redis-1 bench/queue.sh
#
# Configs: direct (edge → sink), kafka-1 / kafka-2 (edge → Kafka → 1 / 2
# indexers in one group → sink), redis-1 (edge → Redis → 1 indexer → sink),
# kafka-0 / redis-0 (the edge alone feeding the queue, no indexer).
# Environment: ROUNDS (3), MESSAGES (1000000), CONFIGS (all), RUN_CAP (3m),
# REDIS_MAX_LEN (the edge's redis.max_len, default 1000000 as logshipper's),
# KAFKA_PORT, REDIS_PORT, QUICK.
#
# Starts a private Kafka (testenv/kafka.sh, port KAFKA_PORT or the next free
# one from 29392, throw-away data directory) and a private Redis
# (testenv/redis.sh, port REDIS_PORT or the next free one from 26399), and
# stops both at the end, also on failure or Ctrl-C. Each run is capped
# (RUN_CAP, default 3m) and reported as failed rather than waited for.
# Results: bench/results/<time>/{table.md,results.jsonl,work/} and, for a
# full default run, bench/results/latest-queue.md.
# LOGSHIPPER_REF / LOGSHIPPER_BIN as for bench/run.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh" # the shared functions; cd to the repository root

latest="$(full_run --rounds MESSAGES CONFIGS QUICK)" # only a full default run replaces bench/results/latest-queue.md
size_run 200000
CONFIGS="${CONFIGS:-direct,kafka-0,kafka-1,kafka-2,redis-0,redis-1}"
RUN_CAP="${RUN_CAP:-3m}"
REDIS_MAX_LEN="${REDIS_MAX_LEN:-1000000}"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # free_port FROM: FROM or the next free port (Kafka also needs FROM+1000, its controller)
	local p="$1"
	while port_in_use "$p" || port_in_use $((p + 1000)); do p=$((p + 1)); done
	echo "$p"
}

build bench/.bin logshipper loadgen sink runner

need_kafka=false need_redis=false
[[ ",$CONFIGS," == *",kafka-"* ]] && need_kafka=true
[[ ",$CONFIGS," == *",redis-"* ]] && need_redis=true

temp_dir data queue
KAFKA_PORT="${KAFKA_PORT:-$(free_port 29392)}"
REDIS_PORT="${REDIS_PORT:-$(free_port 26399)}"
trap 'exit 130' INT TERM HUP

spec="" pids="" desc=""
if $need_kafka; then
	at_exit "bash testenv/kafka.sh stop --port '$KAFKA_PORT' --data '$data/kafka' >/dev/null 2>&1"
	bash testenv/kafka.sh start --port "$KAFKA_PORT" --data "$data/kafka" --clean
	spec+="kafka=127.0.0.1:$KAFKA_PORT,"
	pids+="kafka=$(cat "$data/kafka/kafka.pid"),"
	kv="$(ls testenv/.kafka/lib/kafka_2.13-*.jar 2>/dev/null | sed -n 1p)"
	kv="${kv##*/kafka_2.13-}"
	desc+="Kafka ${kv%.jar} (testenv/kafka.sh: one KRaft node, heap ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}), "
fi
if $need_redis; then
	at_exit "bash testenv/redis.sh stop --port '$REDIS_PORT' >/dev/null 2>&1"
	mkdir -p "$data/redis"
	bash testenv/redis.sh start --port "$REDIS_PORT" --dir "$data/redis"
	spec+="redis=redis://127.0.0.1:$REDIS_PORT,"
	pids+="redis=$(cat "$data/redis/redis.pid"),"
	rv="$(LD_LIBRARY_PATH=testenv/.redis/root/usr/lib/x86_64-linux-gnu "$(bash testenv/redis.sh path)" --version | cut -d' ' -f3)"
	desc+="Redis ${rv#v=} (testenv/redis.sh: Debian's redis-server, no persistence), "
fi
[[ -n "$spec" ]] || spec="none=" # direct only: the runner needs -queue to pick the mode
desc="${desc%, }"; desc+="; all on this machine, 127.0.0.1"

"$bin/runner" "${runner_flags[@]}" \
	-rounds "$ROUNDS" -messages "$MESSAGES" -queue "${spec%,}" -queue-pids "${pids%,}" \
	-queue-configs "$CONFIGS" -queue-run-cap "$RUN_CAP" -queue-redis-max-len "$REDIS_MAX_LEN" -queue-brokers-desc "$desc" &
runner_pid=$!
# On exit (also Ctrl-C) the runner first: it stops its edges, indexers and sink.
at_exit "kill -TERM $runner_pid 2>/dev/null && wait $runner_pid 2>/dev/null"
wait "$runner_pid"
