#!/usr/bin/env bash
# A one-node Apache Kafka 4.4 (KRaft, broker and controller in one JVM) for
# logshipper tests, run from Maven jars. No Docker and no distribution
# tarball: testenv/kafka/pom.xml names the jars, `mvn dependency:copy-dependencies`
# copies them into a cache folder (testenv/.kafka/lib). Fetching is idempotent.
#
#   testenv/kafka.sh start --port N [--data DIR] [--timeout S] [--clean] [key=value ...]
#   testenv/kafka.sh stop  --port N [--data DIR]
#   testenv/kafka.sh status --port N [--data DIR]
#   testenv/kafka.sh path                     # fetch if needed; print the jar folder (classpath DIR/*)
#   testenv/kafka.sh run CLASS [args ...]     # run a Kafka tool's main class on that classpath
#
# Environment: KAFKA_PORT (default port), KAFKA_DATA (default /tmp/logshipper-kafka-<port>),
#              KAFKA_HEAP_OPTS (default -Xms256m -Xmx512m), KAFKA_JAVA_OPTS (extra JVM options),
#              KAFKA_START_TIMEOUT (default 90 s), KAFKA_DIR (cache folder), JAVA (java binary).
# See testenv/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJ="$HERE/kafka"
CACHE="${KAFKA_DIR:-$HERE/.kafka}"
LIB="$CACHE/lib"
STAMP="$LIB/.testenv-fetch-stamp"
JAVA="${JAVA:-java}"
PORT="${KAFKA_PORT:-}"
DATA="${KAFKA_DATA:-}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
USER_JAVA_OPTS="${KAFKA_JAVA_OPTS:-}"
MAIN_CLASS=kafka.Kafka
STOP_WAIT=20
CLEAN=0
EXTRA=()

# shellcheck source=server-options.sh
source "$HERE/server-options.sh"

parse_args() {
	parse_server_options "$@"
	DATA="$(realpath -m "${DATA:-/tmp/logshipper-kafka-$PORT}")"
	PIDFILE="$DATA/kafka.pid"
	LOGFILE="$DATA/server.log"
}

check_java() {
	need "$JAVA" "running Kafka (Java 17 or newer)"
	local v
	v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
	[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 17 ] || die "Kafka 4 needs Java 17 or newer; $JAVA is Java ${v:-?} (set JAVA=/path/to/java)"
}

fetch_hash() { cat "$PROJ/pom.xml" | sha256sum | cut -d' ' -f1; }

# Copies the jars named by kafka/pom.xml (and their dependencies) into $LIB, unless done for this pom.
fetch() {
	local want
	want="$(fetch_hash)"
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -n "$(ls "$LIB"/kafka_2.13-*.jar 2>/dev/null)" ]; then
		return 0
	fi
	need mvn "fetching the Kafka jars"
	say "fetching the Kafka jars into $LIB (mvn -B -q dependency:copy-dependencies)"
	mkdir -p "$CACHE"
	local tmp="$CACHE/lib.tmp"
	rm -rf "$tmp"
	# (sed strips the stray ANSI resets mvn prints even in batch mode; pipefail keeps mvn's exit code)
	(cd "$PROJ" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2) ||
		die "maven could not fetch the jars of $PROJ/pom.xml"
	[ -n "$(ls "$tmp"/kafka_2.13-*.jar 2>/dev/null)" ] || die "maven fetched no kafka_2.13 jar into $tmp"
	echo "$want" >"$tmp/.testenv-fetch-stamp"
	rm -rf "$LIB"
	mv "$tmp" "$LIB"
}

kafka_version() {
	local j
	j="$(ls "$LIB"/kafka_2.13-*.jar 2>/dev/null | sed -n 1p)"
	j="${j##*/kafka_2.13-}"
	echo "${j%.jar}"
}

# Runs a main class on the Kafka classpath with warnings-only logging to stderr.
run_tool() {
	"$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
		"-Dlog4j2.configurationFile=$PROJ/log4j2.properties" -Dkafka.log.level=WARN \
		-Dkafka.log.target=SYSTEM_ERR -Dlog4j2.shutdownHookEnabled=false \
		-cp "$LIB/*" "$@"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sends an ApiVersions (v0) request to 127.0.0.1:$PORT; succeeds when the broker answers it
# without error (4-byte size, correlation id 7, error code 0).
api_versions_ok() {
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x07\x00\x02ks" >&3
		head -c 10 <&3 | od -An -tx1 | tr -d " \n"
	' _ "$PORT" 2>/dev/null | grep -E '^[0-9a-f]{8}000000070000$' >/dev/null
}

is_kafka_pid() {
	[[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
	local cmdline
	cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
	[[ " $cmdline" == *" $MAIN_CLASS "* ]]
}

# pid from the pid file if that process is alive and really is a Kafka node.
live_pid() {
	[ -f "$PIDFILE" ] || return 1
	local pid
	pid="$(cat "$PIDFILE" 2>/dev/null || true)"
	is_kafka_pid "$pid" || return 1
	echo "$pid"
}

# pid of a Kafka node (started by this script or not) listening on 127.0.0.1:$PORT.
port_pid() {
	command -v ss >/dev/null 2>&1 || return 1
	local pid
	for pid in $(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
		if is_kafka_pid "$pid"; then echo "$pid"; return 0; fi
	done
	return 1
}

# The controller listener's port: the one recorded in $DATA, else PORT+1000, or the next free one.
controller_port() {
	local p="" i
	[ -f "$DATA/controller.port" ] && p="$(cat "$DATA/controller.port")"
	[[ "$p" =~ ^[0-9]+$ ]] || p=$((PORT + 1000))
	for i in $(seq 0 50); do
		if [ $((p + i)) -lt 65536 ] && [ $((p + i)) != "$PORT" ] && ! port_in_use $((p + i)); then
			echo $((p + i))
			return 0
		fi
	done
	die "no free port for the controller listener from $p to $((p + 50))"
}

write_config() {
	local cport="$1"
	cat >"$DATA/server.properties" <<EOF
# written by testenv/kafka.sh on each start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA/logs
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
EOF
	if [ ${#EXTRA[@]} -gt 0 ]; then
		echo "# from the command line (the last value of a key wins)" >>"$DATA/server.properties"
		printf '%s\n' "${EXTRA[@]}" >>"$DATA/server.properties"
	fi
}

cmd_start() {
	local pid
	if pid="$(live_pid)" || pid="$(port_pid)"; then
		die "a Kafka node is already running on port $PORT (pid $pid); run: $0 stop --port $PORT --data $DATA"
	fi
	port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is already in use by another process"
	check_java
	local t0
	t0="$(date +%s.%N)"
	fetch

	mkdir -p "$DATA"
	if [ "$CLEAN" = 1 ] && [ -n "$(ls -A "$DATA")" ]; then
		[ -f "$DATA/server.properties" ] || die "--clean refused: $DATA does not look like a data dir of this script"
		say "--clean: wiping $DATA"
		rm -rf "${DATA:?}"/*
	fi
	rm -f "$PIDFILE"
	local cport
	cport="$(controller_port)"
	echo "$cport" >"$DATA/controller.port"
	write_config "$cport"

	if [ ! -f "$DATA/logs/meta.properties" ]; then
		local id
		# A base64url id may start with "-": passed as --cluster-id=ID, it is
		# not taken for an option (format refused about 1 start in 64).
		id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
		say "formatting $DATA/logs (cluster id $id)"
		run_tool kafka.tools.StorageTool format --ignore-formatted "--cluster-id=$id" -c "$DATA/server.properties" \
			>"$DATA/format.log" 2>&1 || { cat "$DATA/format.log" >&2; die "formatting the storage in $DATA/logs failed"; }
	fi

	# shellcheck disable=SC2206
	local jvm=($HEAP_OPTS
		-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
		-XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -XX:+ExitOnOutOfMemoryError
		-Djava.awt.headless=true -Dfile.encoding=UTF-8
		"-Dlog4j2.configurationFile=$PROJ/log4j2.properties" -Dlog4j2.shutdownHookEnabled=false
		$USER_JAVA_OPTS)
	echo "---- testenv/kafka.sh start $(date -Is) ----" >>"$LOGFILE"
	local from
	from="$(wc -l <"$LOGFILE")" # a restart appends to the log: look only at this run's lines
	# setsid: own session, so a Ctrl-C in the calling terminal does not hit the node.
	setsid nohup "$JAVA" "${jvm[@]}" -cp "$LIB/*" "$MAIN_CLASS" "$DATA/server.properties" \
		>>"$LOGFILE" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PIDFILE"
	say "started pid $pid (port $PORT, controller $cport, data $DATA, log $LOGFILE); waiting up to ${TIMEOUT}s"

	# Up = the log says the server started (after the broker is unfenced) and the port
	# answers a Kafka ApiVersions request.
	local deadline=$(($(date +%s) + TIMEOUT)) rc
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null && rc=0 || rc=$?
			fail_start "Kafka exited during startup (exit code $rc)"
		fi
		if awk -v from="$from" 'NR > from && /Kafka Server started/ { up = 1 } END { exit !up }' "$LOGFILE" &&
			api_versions_ok; then
			break
		fi
		[ "$(date +%s)" -lt "$deadline" ] || fail_start "Kafka did not come up on port $PORT within ${TIMEOUT}s"
		sleep 0.3
	done
	local t1
	t1="$(date +%s.%N)"
	printf '[kafka.sh] Kafka %s up on 127.0.0.1:%s (pid %s, data %s) in %.1fs\n' \
		"$(kafka_version)" "$PORT" "$pid" "$DATA" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

cmd_stop() {
	local pid
	if ! pid="$(live_pid)" && ! pid="$(port_pid)"; then
		rm -f "$PIDFILE"
		return 0
	fi
	stop_pid "$pid" "$STOP_WAIT"
	rm -f "$PIDFILE"
	say "stopped"
}

cmd_status() {
	local pid
	if pid="$(live_pid)" || pid="$(port_pid)"; then
		api_versions_ok || { echo "running (pid $pid) but port $PORT does not answer ApiVersions"; return 1; }
		echo "running (pid $pid, port $PORT, data $DATA)"
		return 0
	fi
	echo "not running (port $PORT, data $DATA)"
	return 3
}

sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
start) parse_args "$@"; cmd_start ;;
stop) parse_args "$@"; cmd_stop ;;
status) parse_args "$@"; cmd_status ;;
path) [ $# -eq 0 ] || die "path takes no arguments"; fetch; echo "$LIB" ;;
run)
	[ $# -gt 0 ] || die "run needs a main class, e.g. org.apache.kafka.tools.TopicCommand"
	check_java
	fetch
	run_tool "$@"
	;;
-h | --help | help | "") usage ;;
*) die "unknown command '$sub' (start|stop|status|path|run)" ;;
esac
