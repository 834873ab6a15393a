# shellcheck shell=bash
# What the testenv server scripts share (kafka.sh, and node.sh for
# opensearch.sh and the elasticsearch*.sh): their messages, their usage text,
# the options their start, stop and status commands take, how a server is
# stopped and how a failed start is reported. Sourced; messages and the usage
# text are the running script's ($0).

say() { echo "[${0##*/}] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed (needed: $2)"; }

# usage: the calling script's header comment.
usage() {
	awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

# parse_server_options ARGS...: --port N, --data DIR, --timeout S, --clean
# and key=value server settings into PORT, DATA, TIMEOUT, CLEAN and EXTRA
# (-h prints the usage); anything else, a missing or bad port or a bad
# timeout is an error. DATA's default is the caller's.
parse_server_options() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--port) [ $# -ge 2 ] || die "--port needs a value"; PORT="$2"; shift 2 ;;
		--port=*) PORT="${1#*=}"; shift ;;
		--data) [ $# -ge 2 ] || die "--data needs a value"; DATA="$2"; shift 2 ;;
		--data=*) DATA="${1#*=}"; shift ;;
		--timeout) [ $# -ge 2 ] || die "--timeout needs a value"; TIMEOUT="$2"; shift 2 ;;
		--timeout=*) TIMEOUT="${1#*=}"; shift ;;
		--clean) CLEAN=1; shift ;;
		-h | --help) usage; exit 0 ;;
		*=*) EXTRA+=("$1"); shift ;;
		*) die "unknown argument: $1 (server settings must be key=value)" ;;
		esac
	done
	[ -n "$PORT" ] || die "needs --port N"
	[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -gt 0 ] && [ "$PORT" -lt 65536 ] || die "bad port: $PORT"
	[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "bad timeout: $TIMEOUT (seconds)"
}

# stop_pid PID SECONDS: SIGTERM, up to SECONDS for the process to exit, then
# SIGKILL (and up to 5 s more); an error if it is still there.
stop_pid() {
	local pid="$1" wait="$2" i
	say "stopping pid $pid (SIGTERM)"
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 $((wait * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "pid $pid still alive after ${wait}s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	die "could not kill pid $pid"
}

# fail_start MESSAGE: a start that went wrong: the message, the server's last
# log lines (LOGFILE), the process (PIDFILE) killed; exits 1.
fail_start() {
	say "ERROR: $1"
	say "---- last 50 lines of $LOGFILE ----"
	tail -n 50 "$LOGFILE" >&2 || true
	say "-----------------------------------"
	local pid
	pid="$(cat "$PIDFILE" 2>/dev/null || true)"
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	exit 1
}
