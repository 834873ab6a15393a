#!/usr/bin/env bash
# Real single-node OpenSearch 2.19 for logshipper integration tests, run from Maven jars.
#
#   testenv/opensearch.sh build
#   testenv/opensearch.sh start  [--port P] [--data DIR] [--timeout S] [--clean] [key=value ...]
#   testenv/opensearch.sh stop   [--port P] [--data DIR]
#   testenv/opensearch.sh status [--port P] [--data DIR]
#
# Environment: OPENSEARCH_PORT (default 9200), OPENSEARCH_DATA (default testenv/.data/<port>),
#              OPENSEARCH_HEAP (default 1g), OPENSEARCH_JAVA_OPTS (extra JVM options, e.g. -Dos.setting.K=V),
#              OPENSEARCH_START_TIMEOUT (default 120 seconds).
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
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh" "$@"
