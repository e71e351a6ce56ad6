#!/bin/sh
# Stand-in for an application's service control on the demo hosts:
# start|stop|status|health. Setup installs this one script in <site>/bin
# under each application's name; the name says which application it is:
#   financectl  data <site>/srv/finance/data, state <site>/run/finance.state,
#               unhealthy while <site>/run/finance.broken exists
#   printctl    spool <site>/srv/print, state <site>/run/print.state,
#               unhealthy without <site>/srv/print/spool
set -eu
name=$(basename "$0")
root=$(cd "$(dirname "$0")/.." && pwd)
site=$(basename "$root")
case "$name" in
  financectl)
    service=finance data="$root/srv/finance/data" state="$root/run/finance.state"
    ready() { [ -f "$data/config/finance.conf" ]; }
    healthy() { [ ! -f "$root/run/finance.broken" ]; } ;;
  printctl)
    service="print production" data="$root/srv/print" state="$root/run/print.state"
    ready() { [ -f "$data/forms/letterhead.ps" ]; }
    healthy() { [ -d "$data/spool" ]; } ;;
  *)
    echo "$name: unknown application; install this script as financectl or printctl" >&2; exit 2 ;;
esac
mkdir -p "$root/run"
case "${1:-}" in
  start)
    ready || { echo "$name: no data at $data; refusing to start" >&2; exit 1; }
    echo running > "$state"; echo "$service started in $site" ;;
  stop)
    echo stopped > "$state"; echo "$service stopped in $site" ;;
  status)
    cat "$state" 2>/dev/null || echo stopped ;;
  health)
    if [ "$(cat "$state" 2>/dev/null)" = running ] && healthy; then
      echo "$service healthy in $site"
    else
      echo "$service not healthy in $site" >&2; exit 1
    fi ;;
  *)
    echo "usage: $name start|stop|status|health" >&2; exit 2 ;;
esac
