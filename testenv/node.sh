# shellcheck shell=bash
# The body of testenv/opensearch.sh, testenv/elasticsearch7.sh and
# testenv/elasticsearch8.sh: build, start, stop and check one embedded
# single-node server. The calling script
# sets NODE_* (which server) and PORT, DATA, TIMEOUT, HEAP, USER_JAVA_OPTS
# (from its own environment variables), then sources this file with its
# arguments.
#
# Optional, for one Maven project built in several versions (opensearch.sh
# --version 3): NODE_TARGET (the build folder under the project, default
# target), NODE_MAVEN_ARGS (an array of -Dkey=value for mvn), NODE_JAVA_HOME
# (a JDK for mvn and the node instead of `java` on PATH), NODE_MIN_JAVA (the
# lowest Java feature version the server runs on) and NODE_LOCALE_PROVIDERS
# (default SPI,COMPAT; JDK 23 removed COMPAT).
#
# Optional, for a server whose jars must be named modules (Elasticsearch 8
# loads its modules into module layers on top of the server's):
# NODE_MODULE_PATH=1 puts $LIB on the JVM's module path (--module-path,
# --add-modules ALL-MODULE-PATH) instead of the class path, and
# NODE_CLASSPATH (default $TARGET/classes) is then the launcher's class path.
#
# Every launcher compiles launcher/src (NodeLauncher, the shared half) next
# to its own source; the build hash covers both.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJ="$HERE/$NODE_PROJECT"
TARGET="$PROJ/${NODE_TARGET:-target}"
LIB="$TARGET/lib"
STAMP="$TARGET/.testenv-build-stamp"
[ -n "${NODE_MAVEN_ARGS+x}" ] || NODE_MAVEN_ARGS=()
CLEAN=0
EXTRA=()

# shellcheck source=server-options.sh
source "$HERE/server-options.sh"

parse_args() {
  parse_server_options "$@"
  if [ -z "$DATA" ]; then DATA="$HERE/.data/$NODE_DATA_PREFIX$PORT"; fi
  DATA="$(realpath -m "$DATA")"
  PIDFILE="$DATA/node.pid"
  LOGFILE="$DATA/node.log"
}

# JAVA: the java binary for the node; with NODE_JAVA_HOME it is that JDK's,
# also exported as JAVA_HOME for mvn (a 3.x build needs javac 21+ to read
# the server's class files). Fails with one line when the JDK is missing or
# too old.
pick_java() {
  if [ -n "${NODE_JAVA_HOME:-}" ]; then
    [ -x "$NODE_JAVA_HOME/bin/java" ] && [ -x "$NODE_JAVA_HOME/bin/javac" ] \
      || die "$NODE_PRODUCT needs a JDK at $NODE_JAVA_HOME (Java ${NODE_MIN_JAVA:-17} or newer; set ${NODE_JAVA_HOME_VAR:-JAVA_HOME} to another one): not found"
    export JAVA_HOME="$NODE_JAVA_HOME"
    JAVA="$NODE_JAVA_HOME/bin/java"
  else
    need java "running $NODE_PRODUCT"
    JAVA=java
  fi
  if [ -n "${NODE_MIN_JAVA:-}" ]; then
    local v
    v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge "$NODE_MIN_JAVA" ] \
      || die "$NODE_PRODUCT needs Java $NODE_MIN_JAVA or newer; $JAVA is Java ${v:-(unknown)}"
  fi
}

# GET http://127.0.0.1:$PORT$1 ; prints the body, fails on connection error or HTTP >= 400.
http_get() {
  curl --noproxy '*' -sS -f --max-time "${2:-5}" "http://127.0.0.1:${PORT}$1"
}

build_hash() {
  ( cd "$PROJ" && cat pom.xml && find src "$HERE/launcher/src" -type f | LC_ALL=C sort | xargs cat && echo "${NODE_MAVEN_ARGS[*]}" ) | sha256sum | cut -d' ' -f1
}

cmd_build() {
  pick_java
  local want; want="$(build_hash)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
     && [ -n "$(ls "$LIB"/$NODE_JAR_GLOB 2>/dev/null)" ] && [ -d "$TARGET/classes/logshipper" ]; then
    return 0
  fi
  need mvn "building the $NODE_PRODUCT test node"
  say "building $PROJ into $TARGET (mvn -B -q package ${NODE_MAVEN_ARGS[*]})"
  rm -rf "$LIB" "$TARGET/modules"
  # (sed strips the stray ANSI resets mvn prints even in batch mode; pipefail keeps mvn's exit code.
  # On JDK 24+ Maven 3.8's Guava warns about sun.misc.Unsafe on every run; the flag, unknown to older
  # JDKs, is only given to those that know it.)
  local mvn_opts="${MAVEN_OPTS:-}"
  if "$JAVA" --sun-misc-unsafe-memory-access=allow -version >/dev/null 2>&1; then
    mvn_opts="$mvn_opts --sun-misc-unsafe-memory-access=allow"
  fi
  ( cd "$PROJ" && MAVEN_OPTS="$mvn_opts" mvn -B -q -Dstyle.color=never -DskipTests "${NODE_MAVEN_ARGS[@]}" package 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g' ) \
    || die "maven build failed"
  [ -n "$(ls "$LIB"/$NODE_JAR_GLOB 2>/dev/null)" ] || die "build produced no jars in $LIB"
  echo "$want" > "$STAMP"
}

# pid from the pid file if that process is alive and really is our node.
live_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep "$NODE_MAIN_CLASS" >/dev/null || return 1
  echo "$pid"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  need curl "health checks"
  if pid="$(live_pid)"; then
    die "a node is already running for $DATA (pid $pid, port $PORT); run: $0 stop --port $PORT"
  fi
  port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is already in use by another process"
  cmd_build

  mkdir -p "$DATA"
  if [ "$CLEAN" = 1 ]; then
    if [ -n "$(ls -A "$DATA")" ] && [ ! -f "$DATA/config/log4j2.properties" ]; then
      die "--clean refused: $DATA does not look like a node data dir of this script"
    fi
    say "--clean: wiping $DATA"
    rm -rf "${DATA:?}"/*
  fi
  mkdir -p "$DATA/tmp"
  rm -f "$PIDFILE"

  local jvm=(
    "-Xms$HEAP" "-Xmx$HEAP"
    -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$DATA"
    -Dfile.encoding=UTF-8 -Djava.awt.headless=true -Djna.nosys=true
    "-Djava.locale.providers=${NODE_LOCALE_PROVIDERS:-SPI,COMPAT}"
    "-Djava.io.tmpdir=$DATA/tmp"
    "-D$NODE_NETTY_PROPERTY=false"
    -Dio.netty.allocator.numDirectArenas=0 -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
    -Dio.netty.recycler.maxCapacityPerThread=0
    -Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false
  )
  # shellcheck disable=SC2206
  local user_opts=(${USER_JAVA_OPTS:-})

  local paths=(-cp "$TARGET/classes:$LIB/*")
  if [ "${NODE_MODULE_PATH:-0}" = 1 ]; then
    paths=(--module-path "$LIB" --add-modules ALL-MODULE-PATH -cp "${NODE_CLASSPATH:-$TARGET/classes}")
  fi

  local t0; t0="$(date +%s.%N)"
  # setsid: own session, so a Ctrl-C in the calling terminal does not hit the node.
  setsid nohup "$JAVA" "${jvm[@]}" "${user_opts[@]}" "${paths[@]}" "$NODE_MAIN_CLASS" \
      --port "$PORT" --data "$DATA" "${EXTRA[@]}" >"$LOGFILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  say "started pid $pid (port $PORT, data $DATA, log $LOGFILE); waiting up to ${TIMEOUT}s"

  local deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null && rc=0 || rc=$?
      fail_start "node process exited during startup (exit code $rc)"
    fi
    if grep -q "$NODE_STARTED_MARK" "$LOGFILE" 2>/dev/null \
       && http_get "/_cluster/health?wait_for_status=yellow&timeout=2s" 5 2>/dev/null | grep '"status":"\(green\|yellow\)"' >/dev/null; then
      break
    fi
    [ "$(date +%s)" -lt "$deadline" ] || fail_start "node did not become healthy on port $PORT within ${TIMEOUT}s"
    sleep 0.5
  done
  local t1; t1="$(date +%s.%N)"
  local health; health="$(http_get "/_cluster/health" || true)"
  local status; status="$(printf '%s' "$health" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
  local version; version="$(http_get "/" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p')"
  printf '[%s] %s %s up on http://127.0.0.1:%s (pid %s, status %s) in %.1fs\n' \
    "$NODE_SCRIPT" "$NODE_PRODUCT" "$version" "$PORT" "$pid" "$status" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

cmd_stop() {
  local pid
  if ! pid="$(live_pid)"; then
    rm -f "$PIDFILE"
    say "no node running for $DATA (port $PORT)"
    return 0
  fi
  stop_pid "$pid" 30
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  local pid
  if pid="$(live_pid)"; then
    local health; health="$(http_get "/_cluster/health" 2>&1)" || { echo "running (pid $pid) but HTTP on port $PORT not answering: $health"; return 1; }
    echo "running (pid $pid, port $PORT, data $DATA): $health"
    return 0
  fi
  echo "not running (port $PORT, data $DATA)"
  return 3
}

sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
  build)  parse_args "$@"; cmd_build ;;
  start)  parse_args "$@"; cmd_start ;;
  stop)   parse_args "$@"; cmd_stop ;;
  status) parse_args "$@"; cmd_status ;;
  -h|--help|help|"") usage ;;
  *) die "unknown command '$sub' (build|start|stop|status)" ;;
esac
