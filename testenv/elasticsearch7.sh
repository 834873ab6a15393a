#!/usr/bin/env bash
# Real single-node Elasticsearch 7.17 (OSS core, no x-pack) for logshipper integration tests, run from Maven jars.
#
#   testenv/elasticsearch7.sh build
#   testenv/elasticsearch7.sh start  [--port P] [--data DIR] [--timeout S] [--clean] [key=value ...]
#   testenv/elasticsearch7.sh stop   [--port P] [--data DIR]
#   testenv/elasticsearch7.sh status [--port P] [--data DIR]
#
# Environment: ES7_PORT (default 9201), ES7_DATA (default testenv/.data/es7-<port>),
#              ES7_HEAP (default 1g), ES7_JAVA_OPTS (extra JVM options, e.g. -Des7.setting.K=V),
#              ES7_START_TIMEOUT (default 120 seconds).
# See testenv/README.md.
set -euo pipefail

NODE_SCRIPT=elasticsearch7.sh
NODE_PRODUCT=Elasticsearch
NODE_PROJECT=elasticsearch7
NODE_MAIN_CLASS=logshipper.testenv.EmbeddedElasticsearch7
NODE_JAR_GLOB='elasticsearch-7*.jar'
NODE_STARTED_MARK='ELASTICSEARCH STARTED'
NODE_NETTY_PROPERTY=es.set.netty.runtime.available.processors
NODE_DATA_PREFIX=es7-

PORT="${ES7_PORT:-9201}"
DATA="${ES7_DATA:-}"
TIMEOUT="${ES7_START_TIMEOUT:-120}"
HEAP="${ES7_HEAP:-1g}"
USER_JAVA_OPTS="${ES7_JAVA_OPTS:-}"
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh" "$@"
