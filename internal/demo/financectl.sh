#!/bin/sh
# financectl: stand-in for the finance application's service control on the
# demo hosts. State lives in $UMZUG_ROOT/run/finance.state.
set -eu
root="${UMZUG_ROOT:-/}"
state="$root/run/finance.state"
mkdir -p "$root/run"
case "${1:-}" in
  start)
    [ -f "$root/srv/finance/data/config/finance.conf" ] || { echo "financectl: no data at /srv/finance/data; refusing to start" >&2; exit 1; }
    echo running > "$state"; echo "finance started on $(cat "$root/etc/hostname" 2>/dev/null || hostname)" ;;
  stop)
    echo stopped > "$state"; echo "finance stopped" ;;
  status)
    cat "$state" 2>/dev/null || echo stopped ;;
  health)
    if [ "$(cat "$state" 2>/dev/null)" = running ] && [ ! -f "$root/run/finance.broken" ]; then
      echo "finance healthy"
    else
      echo "finance not healthy" >&2; exit 1
    fi ;;
  *)
    echo "usage: financectl start|stop|status|health" >&2; exit 2 ;;
esac
