#!/bin/sh
# Stand-in for an application's service control on the demo hosts:
# start|stop|status|health. Setup installs this one script in <site>/bin
# under each application's name; the name says which application it is:
#   financectl  data <site>/srv/finance/data, state <site>/run/finance.state,
#               unhealthy while <site>/run/finance.broken exists
#   printctl    spool <site>/srv/print, state <site>/run/print.state,
#               unhealthy without <site>/srv/print/spool
#   postgresctl data <site>/var/lib/postgresql/data, state <site>/run/postgres.state
#   dnsctl      point NAME SITE | show NAME: the name's record in
#               <site>/run/NAME.zone (the name server's zone)
set -eu
name=$(basename "$0")
root=$(cd "$(dirname "$0")/.." && pwd)
site=$(basename "$root")
if [ "$name" = dnsctl ]; then
  mkdir -p "$root/run"
  case "${1:-}" in
    point)
      echo "${2:?dnsctl point NAME SITE} CNAME ${3:?dnsctl point NAME SITE}" > "$root/run/$2.zone"
      echo "$2 now points to $3" ;;
    show)
      cat "$root/run/${2:?dnsctl show NAME}.zone" 2>/dev/null || echo "$2 has no record" ;;
    *)
      echo "usage: dnsctl point NAME SITE | show NAME" >&2; exit 2 ;;
  esac
  exit 0
fi
case "$name" in
  financectl)
    service=finance data="$root/srv/finance/data" state="$root/run/finance.state"
    ready() { [ -f "$data/config/finance.conf" ]; }
    healthy() { [ ! -f "$root/run/finance.broken" ]; } ;;
  printctl)
    service="print production" data="$root/srv/print" state="$root/run/print.state"
    ready() { [ -f "$data/forms/letterhead.ps" ]; }
    healthy() { [ -d "$data/spool" ]; } ;;
  postgresctl)
    service=postgresql data="$root/var/lib/postgresql/data" state="$root/run/postgres.state"
    ready() { [ -f "$data/PG_VERSION" ]; }
    healthy() { true; } ;;
  *)
    echo "$name: unknown application; install this script as financectl, printctl, postgresctl or dnsctl" >&2; exit 2 ;;
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
