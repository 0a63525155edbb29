#!/usr/bin/env bash
# Every benchmark of docs/performance.md, one after the other, each at the size its figure was recorded at
# (`make bench-all`; issue 15: "every benchmark figure re-measured"). Run it on a quiet machine: each
# bench prints its figure beside a baseline from the same run, but the absolute figures are what the
# README's tables compare with. Output: var/bench/<UTC time>/<name>.log, and the load average before and
# after each bench in summary.txt.
#
#   bash bench/all.sh                 # everything (about 40 min on a quiet machine; the 10 M-event analytics run alone is 16)
#   bash bench/all.sh bus idle rls    # only these (names below)
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT="var/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
PG_LOG=/var/log/postgresql/postgresql-15-main.log

declare -A CMD=(
  [bus]="$PY bench/bus.py --phases latency --rate 200 --seconds 20"
  [idle]="$PY bench/idle.py --seconds 120 --settle 20 $( [ -r $PG_LOG ] && echo --trace $PG_LOG )"
  [rls]="$PY bench/rls.py"
  [callcenter_queue]="$PY bench/callcenter_queue.py"
  [concurrency]="$PY bench/concurrency.py --hogs 2"
  [first_start]="$PY bench/first_start.py --runs 5"
  [leads_import]="$PY bench/leads_import.py"
  [customers]="$PY bench/customers.py --customers 1000000 --vehicles 1500000 --visits 1500000 --leads 100000"
  [analytics]="$PY bench/analytics.py --events 10000000"
  [analytics_consumer]="$PY bench/analytics_consumer.py"
  [identity_consumer]="$PY bench/identity_consumer.py"
  [customers_consumer]="$PY bench/customers_consumer.py"
  [callcenter_consumer]="$PY bench/callcenter_consumer.py"
  [sessions]="$PY bench/sessions.py --rounds 10"
  [embedded_pg]="$PY bench/embedded_pg.py"
  [pipeline]="$PY bench/pipeline.py --seconds 15 --rates 10,20,40,80,150 --bare-rates 10,20,40,80,150,250 --backlog 600 --list-requests 100"
  [api_cpu]="$PY bench/pipeline.py --only api-cpu --seconds 20 --rates 10 --list-requests 200"
)
ORDER=(bus idle rls callcenter_queue sessions concurrency first_start leads_import analytics_consumer identity_consumer
       customers_consumer callcenter_consumer embedded_pg api_cpu pipeline customers analytics)
[ $# -gt 0 ] && ORDER=("$@")

for name in "${ORDER[@]}"; do
  cmd=${CMD[$name]:-}
  if [ -z "$cmd" ]; then echo "unknown bench: $name (known: ${!CMD[*]})" >&2; exit 2; fi
  start=$(date +%s)
  echo "== $name: $cmd" | tee -a "$OUT/summary.txt"
  echo "   load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.txt"
  $cmd > "$OUT/$name.log" 2>&1
  rc=$?
  echo "   exit $rc, $(( $(date +%s) - start )) s, load after: $(cut -d' ' -f1-3 /proc/loadavg); log: $OUT/$name.log" \
    | tee -a "$OUT/summary.txt"
done
echo "results: $OUT"
