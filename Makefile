# logshipper: the two commands a fresh machine needs are `make run` and `make test`.
ES_PORT ?= 9200

.PHONY: build run stop-es test soak

build:
	go build -trimpath -o bin/logshipper ./cmd/logshipper

# Starts a local OpenSearch on 127.0.0.1:$(ES_PORT) (kept running) and
# logshipper in the foreground, listening on :10514 TCP and UDP.
run: build
	bash testenv/opensearch.sh start --port $(ES_PORT)
	@echo
	@echo "OpenSearch: http://127.0.0.1:$(ES_PORT)   logshipper: syslog on :10514 (TCP+UDP), metrics on :9600"
	@echo "Send:   yes test | head -n 100000 | nc -q1 localhost 10514      (or: > /dev/tcp/127.0.0.1/10514)"
	@echo "Count:  curl -s -XPOST 'localhost:$(ES_PORT)/syslog-msg/_refresh' >/dev/null; curl -s 'localhost:$(ES_PORT)/syslog-msg/_count'"
	@echo "Stop:   Ctrl-C here, then make stop-es"
	@echo
	LOGSHIPPER_ELASTICSEARCH_URLS=http://127.0.0.1:$(ES_PORT) LOGSHIPPER_LOG_FORMAT=console \
	LOGSHIPPER_ELASTICSEARCH_TEMPLATE_REPLICAS=0 ./bin/logshipper

stop-es:
	bash testenv/opensearch.sh stop --port $(ES_PORT)

# The whole test suite, OpenSearch included. CI runs exactly this.
test:
	bash testenv/test-all.sh

# The chaos soak (test/soak/README.md): senders over TCP and UDP into two
# replicas with disk buffers and a real OpenSearch of its own, faults on a
# seeded random schedule, invariants checked at the end; the report goes to
# bench/results/latest-soak.md. Runs as root (it mounts tmpfs).
#   make soak DURATION=30m [SEED=n]      (SEED unset: a random one, printed first)
DURATION ?= 30m
SEED ?= 0
soak:
	go run ./test/soak -duration $(DURATION) -seed $(SEED) -report bench/results/latest-soak.md
