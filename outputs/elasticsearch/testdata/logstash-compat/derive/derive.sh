#!/usr/bin/env bash
# Derive Logstash syslog-input reference documents. See README.md.
# Usage: derive.sh [--patterns DIR] [--timezone TZ] [--locale L] [--fixed-failure-priority] [input.json]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LOGSTASH_DERIVE_CACHE:-${XDG_CACHE_HOME:-/tmp}/logstash-derive-cache}"
JRUBY_VERSION="${JRUBY_VERSION:-9.4.9.0}"
JODA_VERSION="${JODA_VERSION:-2.12.7}"
MIRRORS="${MIRRORS:-/work/.mirror}"
PATTERNS_REPO="${PATTERNS_REPO:-$MIRRORS/logstash-plugins+logstash-patterns-core/repo}"
DATE_REPO="${DATE_REPO:-$MIRRORS/logstash-plugins+logstash-filter-date/repo}"
GROK_LIB_REPO="${GROK_LIB_REPO:-$MIRRORS/jordansissel+ruby-grok/repo}"
log() { echo "derive.sh: $*" >&2; }
mkdir -p "$CACHE/jars"

fetch_jar() { # group artifact version -> path of the jar in the cache (downloaded once with Maven)
  local f="$CACHE/jars/$2-$3.jar"
  if [ ! -s "$f" ]; then
    mvn -B -q dependency:copy -Dartifact="$1:$2:$3" -DoutputDirectory="$CACHE/jars" >&2 ||
      { mvn -B -q dependency:get -Dartifact="$1:$2:$3" >&2 &&
        cp "${HOME}/.m2/repository/${1//.//}/$2/$3/$2-$3.jar" "$f"; }
  fi
  echo "$f"
}
extract() { # repo path dest-prefix -> directory holding <path> from repo HEAD (cached per commit)
  local commit; commit="$(git -C "$1" rev-parse HEAD)"
  local dest="$CACHE/$3-$commit"
  if [ ! -d "$dest/$2" ]; then mkdir -p "$dest" && git -C "$1" archive --prefix="$2/" "HEAD:$2" | tar -x -C "$dest"; fi
  log "$3: $(git -C "$1" log -1 --format='%H (%cd)' --date=short) from $1"
  echo "$dest"
}

JRUBY_JAR="$(fetch_jar org.jruby jruby-complete "$JRUBY_VERSION")"
JODA_JAR="$(fetch_jar joda-time joda-time "$JODA_VERSION")"
log "jars: $(basename "$JRUBY_JAR") $(basename "$JODA_JAR")"

# logstash-filter-date's Java timestamp parsers (they depend on Joda only): compile them from upstream.
DATE_DIR="$(extract "$DATE_REPO" src/main/java/org/logstash/filters/parser logstash-filter-date)"
if [ ! -d "$DATE_DIR/classes" ]; then
  javac -nowarn -d "$DATE_DIR/classes.tmp" -cp "$JODA_JAR" "$DATE_DIR"/src/main/java/org/logstash/filters/parser/*.java >&2
  mv "$DATE_DIR/classes.tmp" "$DATE_DIR/classes"
fi
# jls-grok (the library logstash-filter-grok compiles patterns with), used as is.
GROK_DIR="$(extract "$GROK_LIB_REPO" lib jls-grok)"

ARGS=("$@")
case " $* " in
  *" --patterns "*) ;;
  *) ARGS=(--patterns "$(extract "$PATTERNS_REPO" patterns logstash-patterns-core)/patterns" "${ARGS[@]}") ;;
esac

exec java -Dfile.encoding=UTF-8 -Duser.timezone=UTC -Duser.language=en \
  -cp "$JODA_JAR:$JRUBY_JAR:$DATE_DIR/classes" org.jruby.Main \
  "$HERE/derive.rb" --grok-lib "$GROK_DIR/lib" "${ARGS[@]}"
