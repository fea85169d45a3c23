# tests/check_lib.sh - the common start of the tests/*_check.sh scripts:
#   NAME=name-check; . tests/check_lib.sh
# (dash's `.` passes no arguments) sets B (the driver: the script's first
# argument, default build/bruno-bench), D (a
# scratch directory removed on exit, plus the pid in $PID killed if set),
# fail (message, exit 1) and pass (message).
set -eu
B=${1:-build/bruno-bench}
D=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$D"' EXIT
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
pass() { echo "$NAME: ok: $*"; }
