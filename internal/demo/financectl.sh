#!/bin/sh
# financectl: stand-in for the finance application's service control on the
# demo hosts. It lives in <site>/bin; the application's data is in
# <site>/srv/finance/data and its state in <site>/run/finance.state.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/run/finance.state"
mkdir -p "$root/run"
case "${1:-}" in
  start)
    [ -f "$root/srv/finance/data/config/finance.conf" ] || { echo "financectl: no data at $root/srv/finance/data; refusing to start" >&2; exit 1; }
    echo running > "$state"; echo "finance started in $(basename "$root")" ;;
  stop)
    echo stopped > "$state"; echo "finance stopped in $(basename "$root")" ;;
  status)
    cat "$state" 2>/dev/null || echo stopped ;;
  health)
    if [ "$(cat "$state" 2>/dev/null)" = running ] && [ ! -f "$root/run/finance.broken" ]; then
      echo "finance healthy"
    else
      echo "finance not healthy in $(basename "$root")" >&2; exit 1
    fi ;;
  *)
    echo "usage: financectl start|stop|status|health" >&2; exit 2 ;;
esac
