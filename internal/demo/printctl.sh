#!/bin/sh
# printctl: stand-in for the print-and-mail application's service control on
# the demo print centers. It lives in <site>/bin; the spool is in
# <site>/srv/print and the service state in <site>/run/print.state.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/run/print.state"
mkdir -p "$root/run"
case "${1:-}" in
  start)
    [ -f "$root/srv/print/forms/letterhead.ps" ] || { echo "printctl: no print data at $root/srv/print; refusing to start" >&2; exit 1; }
    echo running > "$state"; echo "print production started in $(basename "$root")" ;;
  stop)
    echo stopped > "$state"; echo "print production stopped in $(basename "$root")" ;;
  status)
    cat "$state" 2>/dev/null || echo stopped ;;
  health)
    if [ "$(cat "$state" 2>/dev/null)" = running ] && [ -d "$root/srv/print/spool" ]; then
      echo "print production healthy in $(basename "$root")"
    else
      echo "print production not healthy in $(basename "$root")" >&2; exit 1
    fi ;;
  *)
    echo "usage: printctl start|stop|status|health" >&2; exit 2 ;;
esac
