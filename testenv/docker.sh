#!/usr/bin/env bash
# A Docker engine with a one-node Swarm and the local images the Swarm tests
# (test/swarm) need, on a machine that reaches Debian's packages and the Go
# module proxy but not Docker Hub.
#
#   testenv/docker.sh start    install docker.io and debootstrap (apt) when missing, start dockerd,
#                              make a one-node Swarm, build the base images; idempotent, quick the second time
#   testenv/docker.sh images   only the images (the engine must run)
#   testenv/docker.sh status   exit 0 when the engine answers and the node is a Swarm manager
#   testenv/docker.sh stop     stop the dockerd this script started (the Swarm state stays in /var/lib/docker)
#
# Images, all made here from Debian's packages, never pulled:
#   logshipper-testenv/debian:bookworm   debootstrap minbase + curl, netcat-openbsd, rsyslog, nginx-light,
#                                        haproxy, openjdk-17-jre-headless, with the host's CA bundle (the
#                                        senders, the password-checking proxy, HAProxy, the OpenSearch
#                                        image's base)
#   <the Dockerfile's build stage image> (golang:1.26-bookworm) that base plus this machine's Go toolchain,
#                                        so that the project's Dockerfile builds unchanged
#   logshipper-testenv/opensearch:2.19   OpenSearch 2.19 from the Maven jars of testenv/opensearch (the
#                                        same node as opensearch.sh), on Debian's JDK
# Needs root (dockerd, debootstrap). Logs: testenv/.docker/dockerd.log.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
STATE="$HERE/.docker"
DOCKER=${DOCKER:-docker}
BASE_IMAGE=logshipper-testenv/debian:bookworm
OPENSEARCH_IMAGE=logshipper-testenv/opensearch:2.19
# What the base image holds; its label records this list, so a change rebuilds it.
BASE_PACKAGES=ca-certificates,curl,netcat-openbsd,rsyslog,nginx-light,haproxy,openjdk-17-jre-headless

say() { echo "[docker.sh] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

engine_up() { "$DOCKER" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# The Debian mirror this machine's apt uses (the project names no registry
# host): the first URIs/deb line of the apt sources.
debian_mirror() {
  local m
  m=$(grep -h -m1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | sed -n 1p || true)
  if [ -z "$m" ]; then
    m=$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | awk '{print $2}' | sed -n 1p || true)
  fi
  [ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list(.d): debootstrap needs one"
  echo "$m"
}

install_missing() {
  local pkgs=()
  command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
  # ip (netns, veth): the Swarm tests' senders are network namespaces.
  command -v ip >/dev/null 2>&1 || pkgs+=(iproute2)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "installing ${pkgs[*]} needs root"
  say "installing ${pkgs[*]} (apt-get)"
  # The package's maintainer scripts may try to start the service; this
  # script starts dockerd itself, so a failed start there is harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >"$STATE/apt.log" 2>&1 \
    || { apt-get update -q >>"$STATE/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >>"$STATE/apt.log" 2>&1; } \
    || { tail -n 30 "$STATE/apt.log" >&2; die "apt-get install ${pkgs[*]} failed (log above)"; }
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
}

start_engine() {
  if engine_up; then return 0; fi
  [ "$(id -u)" = 0 ] || die "starting dockerd needs root"
  say "starting dockerd (log $STATE/dockerd.log)"
  setsid nohup dockerd >"$STATE/dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE/dockerd.pid"
  local deadline=$(( $(date +%s) + 60 ))
  until engine_up; do
    if ! kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
      tail -n 30 "$STATE/dockerd.log" >&2; die "dockerd exited (log above)"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 30 "$STATE/dockerd.log" >&2; die "dockerd did not answer within 60 s (log above)"; }
    sleep 0.5
  done
  say "dockerd $("$DOCKER" info --format '{{.ServerVersion}}') is up"
}

start_swarm() {
  local state
  state=$("$DOCKER" info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" = active ]; then return 0; fi
  # One node: loopback is the only address no other host must reach.
  "$DOCKER" swarm init --advertise-addr 127.0.0.1 >/dev/null || die "docker swarm init failed"
  say "one-node Swarm initialised"
}

image_label() { "$DOCKER" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

build_base() {
  if [ "$(image_label "$BASE_IMAGE" logshipper.testenv.packages)" = "$BASE_PACKAGES" ]; then return 0; fi
  local mirror root
  mirror=$(debian_mirror)
  root="$STATE/rootfs"
  rm -rf "$root"
  say "debootstrap bookworm ($BASE_PACKAGES) into $root"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$root" "$mirror" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -n 30 "$STATE/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  # The host's CA bundle: a build or a sender inside may need what this
  # machine trusts (the module proxy seen through this network).
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | "$DOCKER" import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "LABEL logshipper.testenv.packages=$BASE_PACKAGES" - "$BASE_IMAGE" >/dev/null \
    || die "docker import of the debootstrap root failed"
  rm -rf "$root"
  say "built $BASE_IMAGE"
}

# The Dockerfile's build stage names an official Go image; make one of the
# same name from the base image and this machine's Go toolchain (same
# version line: the go.mod's go directive must be satisfied).
build_golang() {
  local want goroot version
  want=$(awk 'toupper($1)=="FROM" && $2 ~ /^golang:/ {print $2; exit}' "$ROOT/Dockerfile")
  [ -n "$want" ] || die "the Dockerfile has no 'FROM golang:...' stage"
  goroot=$(go env GOROOT)
  version=$(go env GOVERSION)
  # golang:1.26-bookworm wants Go 1.26.x: compare the version line.
  local tagged=${want#golang:}; tagged=${tagged%%-*}
  local have; have=$(echo "${version#go}" | cut -d. -f1,2)
  [ "$(echo "$tagged" | cut -d. -f1,2)" = "$have" ] || die "the Dockerfile wants $want but this machine's Go is $version"
  if [ "$(image_label "$want" logshipper.testenv.go)" = "$version $(image_label "$BASE_IMAGE" logshipper.testenv.packages)" ]; then return 0; fi
  local ctx="$STATE/golang-build"
  mkdir -p "$ctx"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY . /usr/local/go
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOPATH=/go
LABEL logshipper.testenv.go="$version $BASE_PACKAGES"
WORKDIR /go
EOF
  say "building $want from $BASE_IMAGE and $goroot ($version)"
  DOCKER_BUILDKIT=0 "$DOCKER" build -q -f "$ctx/Dockerfile" -t "$want" "$goroot" >"$STATE/golang-build.log" 2>&1 \
    || { tail -n 30 "$STATE/golang-build.log" >&2; die "building $want failed (log above)"; }
}

build_opensearch() {
  bash "$HERE/opensearch.sh" build
  local proj="$HERE/opensearch" stamp
  stamp=$(cat "$proj/target/.testenv-build-stamp")
  local ctx="$STATE/opensearch-build"
  rm -rf "$ctx"; mkdir -p "$ctx"
  # The JVM options of testenv/node.sh; network.host 0.0.0.0 so that the
  # overlay network reaches it; data where the stack file mounts Elasticsearch's.
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY classes /opt/opensearch/classes
COPY lib /opt/opensearch/lib
RUN mkdir -p /usr/share/elasticsearch/data && chown 1000:0 /usr/share/elasticsearch/data && useradd -u 1000 -g 0 -d /usr/share/elasticsearch opensearch
USER 1000:0
ENV OPENSEARCH_HEAP=512m
EXPOSE 9200
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -sf 'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=1s' >/dev/null
ENTRYPOINT ["sh", "-c", "exec java -Xms\$OPENSEARCH_HEAP -Xmx\$OPENSEARCH_HEAP -XX:+UseG1GC -Dfile.encoding=UTF-8 -Djava.awt.headless=true -Djna.nosys=true -Djava.locale.providers=SPI,COMPAT -Djava.io.tmpdir=/tmp -Dopensearch.set.netty.runtime.available.processors=false -Dio.netty.allocator.numDirectArenas=0 -Dio.netty.noUnsafe=true -Dlog4j2.disable.jmx=true -cp '/opt/opensearch/classes:/opt/opensearch/lib/*' logshipper.testenv.EmbeddedOpenSearch --port 9200 --data /usr/share/elasticsearch/data --name es network.host=0.0.0.0 \"\$@\"", "opensearch"]
EOF
  # The label: the node's build, the base and this Dockerfile; equal means up to date.
  local want
  want=$( (echo "$stamp $BASE_PACKAGES"; cat "$ctx/Dockerfile") | sha256sum | cut -c1-32)
  if [ "$(image_label "$OPENSEARCH_IMAGE" logshipper.testenv.build)" = "$want" ]; then rm -rf "$ctx"; return 0; fi
  echo "LABEL logshipper.testenv.build=$want" >>"$ctx/Dockerfile"
  cp -r "$proj/target/classes" "$proj/target/lib" "$ctx/"
  say "building $OPENSEARCH_IMAGE"
  DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$OPENSEARCH_IMAGE" "$ctx" >"$STATE/opensearch-build.log" 2>&1 \
    || { tail -n 30 "$STATE/opensearch-build.log" >&2; die "building $OPENSEARCH_IMAGE failed (log above)"; }
  rm -rf "$ctx"
}

cmd_images() {
  engine_up || die "the Docker engine is not running (testenv/docker.sh start)"
  build_base
  build_golang
  build_opensearch
}

cmd_start() {
  mkdir -p "$STATE"
  install_missing
  start_engine
  start_swarm
  cmd_images
  say "ready: $("$DOCKER" info --format 'dockerd {{.ServerVersion}}, swarm {{.Swarm.LocalNodeState}}')"
}

cmd_status() {
  engine_up || { say "the Docker engine is not running"; exit 3; }
  [ "$("$DOCKER" info --format '{{.Swarm.ControlAvailable}}')" = true ] || { say "not a Swarm manager"; exit 3; }
  say "running: $("$DOCKER" info --format 'dockerd {{.ServerVersion}}, swarm {{.Swarm.LocalNodeState}}')"
}

cmd_stop() {
  local pid
  pid=$(cat "$STATE/dockerd.pid" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    say "dockerd stopped"
  fi
  rm -f "$STATE/dockerd.pid"
}

case "${1:-}" in
  start) cmd_start ;;
  images) mkdir -p "$STATE"; cmd_images ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
