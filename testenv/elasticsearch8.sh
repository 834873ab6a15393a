#!/usr/bin/env bash
# Real single-node Elasticsearch 8.19 (server, transport-netty4, x-pack-core; security off) for logshipper tests, run from Maven jars.
#
#   testenv/elasticsearch8.sh build
#   testenv/elasticsearch8.sh start  [--port P] [--data DIR] [--timeout S] [--clean] [key=value ...]
#   testenv/elasticsearch8.sh stop   [--port P] [--data DIR]
#   testenv/elasticsearch8.sh status [--port P] [--data DIR]
#
# Environment: ES8_PORT (default 9208), ES8_DATA (default testenv/.data/es8-<port>),
#              ES8_HEAP (default 1g), ES8_JAVA_OPTS (extra JVM options, e.g. -Des8.setting.K=V),
#              ES8_START_TIMEOUT (default 120 seconds).
# See testenv/README.md, "Elasticsearch 8".
set -euo pipefail

NODE_SCRIPT=elasticsearch8.sh
NODE_PRODUCT=Elasticsearch
NODE_PROJECT=elasticsearch8
NODE_MAIN_CLASS=logshipper.testenv.EmbeddedElasticsearch8
NODE_JAR_GLOB='elasticsearch-8*.jar'
NODE_STARTED_MARK='ELASTICSEARCH STARTED'
NODE_NETTY_PROPERTY=es.set.netty.runtime.available.processors
NODE_DATA_PREFIX=es8-
# The server and its libraries are named modules (target/lib on the module path); the launcher jar is
# the class path. It holds no class of the node's own module (target/modules/logshipper-testenv).
NODE_MODULE_PATH=1
NODE_CLASSPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/elasticsearch8/target/logshipper-testenv.jar"

PORT="${ES8_PORT:-9208}"
DATA="${ES8_DATA:-}"
TIMEOUT="${ES8_START_TIMEOUT:-120}"
HEAP="${ES8_HEAP:-1g}"
USER_JAVA_OPTS="${ES8_JAVA_OPTS:-}"
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh" "$@"
