#!/usr/bin/env bash
# Real single-node OpenSearch 2.19 (or 3.9 with --version 3) for logshipper tests, run from Maven jars.
#
#   testenv/opensearch.sh build  [--version 2|3]
#   testenv/opensearch.sh start  [--version 2|3] [--port P] [--data DIR] [--timeout S] [--clean] [key=value ...]
#   testenv/opensearch.sh stop   [--port P] [--data DIR]
#   testenv/opensearch.sh status [--port P] [--data DIR]
#
# Environment: OPENSEARCH_PORT (default 9200), OPENSEARCH_DATA (default testenv/.data/<port>, os3-<port> for 3),
#              OPENSEARCH_HEAP (default 1g), OPENSEARCH_JAVA_OPTS (extra JVM options, e.g. -Dos.setting.K=V),
#              OPENSEARCH_START_TIMEOUT (default 120 seconds), OPENSEARCH_VERSION (2 or 3, default 2),
#              OPENSEARCH3_JAVA_HOME (the JDK for 3.x, Java 21+; default /usr/lib/jvm/temurin-25-jdk-amd64).
# See testenv/README.md.
set -euo pipefail

NODE_SCRIPT=opensearch.sh
NODE_PRODUCT=OpenSearch
NODE_PROJECT=opensearch
NODE_MAIN_CLASS=logshipper.testenv.EmbeddedOpenSearch
NODE_JAR_GLOB='opensearch-*.jar'
NODE_STARTED_MARK='OPENSEARCH STARTED'
NODE_NETTY_PROPERTY=opensearch.set.netty.runtime.available.processors
NODE_DATA_PREFIX=

PORT="${OPENSEARCH_PORT:-9200}"
DATA="${OPENSEARCH_DATA:-}"
TIMEOUT="${OPENSEARCH_START_TIMEOUT:-120}"
HEAP="${OPENSEARCH_HEAP:-1g}"
USER_JAVA_OPTS="${OPENSEARCH_JAVA_OPTS:-}"

# --version picks the major version; it is taken out here so that node.sh
# sees only its own options. Both versions build the same launcher and pom
# (opensearch/), each into its own folder.
MAJOR="${OPENSEARCH_VERSION:-2}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || { echo "[$NODE_SCRIPT] ERROR: --version needs a value (2 or 3)" >&2; exit 1; }
               MAJOR="$2"; shift 2 ;;
    --version=*) MAJOR="${1#*=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$MAJOR" in
  2) ;;
  3)
    # 3.9.0: the newest 3.x whose server and netty4 plugin Maven Central serves (3.7.0's plugin is not).
    # Its jars are Java 21 class files: mvn and the node run on the JDK below, never on `java` from PATH.
    NODE_TARGET=target-os3
    NODE_MAVEN_ARGS=(-Dopensearch.version=3.9.0 -Dlog4j.version=2.25.5 -Dmaven.compiler.release=21
                     "-Dtestenv.build.dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/opensearch/$NODE_TARGET")
    NODE_JAVA_HOME="${OPENSEARCH3_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
    NODE_JAVA_HOME_VAR=OPENSEARCH3_JAVA_HOME
    NODE_MIN_JAVA=21
    NODE_LOCALE_PROVIDERS=SPI,CLDR # JDK 23 removed COMPAT; OpenSearch 3's own jvm.options say SPI,CLDR
    NODE_DATA_PREFIX=os3-
    # Lucene 10 calls the foreign-function API; OpenSearch 3's jvm.options allow it the same way.
    USER_JAVA_OPTS="--enable-native-access=ALL-UNNAMED $USER_JAVA_OPTS"
    ;;
  *) echo "[$NODE_SCRIPT] ERROR: --version $MAJOR: want 2 (2.19) or 3 (3.9)" >&2; exit 1 ;;
esac
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh" "${args[@]}"
