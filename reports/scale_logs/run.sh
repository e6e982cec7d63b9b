#!/usr/bin/env bash
# How the logs beside this file were made (issue #27), from the repository root:
#   bash reports/scale_logs/run.sh [DATA] [OUT] [SHARD]     (SHARD e.g. 0/4: that shard of DATA only)
# 1. worker_killed.log: l2g reconstruct DATA --engine ray over the whole archive; once the first results part
#    is written, one Ray Data actor (a ray::MapWorker process below this run's driver) is killed with SIGKILL.
# 2. driver_killed.log then resumed.log: the same command into another folder (first 40 records, a part every
#    8 rows); the driver is killed with SIGKILL once parts are written, then the same command is run again.
set -u
DATA=${1:-../shared/data}
OUT=${2:-/tmp/l2g_scale_run}
SHARD=(${3:+--shard $3})
PY=${PY:-.venv/bin/python}
LOGS=reports/scale_logs
export OMP_NUM_THREADS=1
rm -rf "$OUT" "$OUT.resume"

descendants() {  # every process below pid $1
  local kids
  kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
  for k in $kids; do echo "$k"; descendants "$k"; done
}

wait_for_part() {  # until $1/l2g_results holds a part, or the driver $2 has ended
  until ls "$1"/l2g_results/part-*.parquet >/dev/null 2>&1 || ! kill -0 "$2" 2>/dev/null; do sleep 1; done
}

echo "# $(date -u +%FT%TZ) $PY -m l2g reconstruct $DATA --available I --out $OUT --engine ray --actors 2 \
--no-progress --flush-every 16 ${SHARD[*]}" > $LOGS/worker_killed.log
nice -n 19 $PY -m l2g reconstruct "$DATA" --available I --out "$OUT" --engine ray --actors 2 --no-progress \
  --flush-every 16 "${SHARD[@]}" >> $LOGS/worker_killed.log 2>&1 &
DRIVER=$!
wait_for_part "$OUT" $DRIVER
for p in $(descendants $DRIVER); do
  if ps -o args= -p "$p" | grep -q '^ray::MapWorker'; then
    echo "# $(date -u +%FT%TZ) run.sh: kill -9 $p ($(ps -o args= -p "$p" | cut -c1-60))" >> $LOGS/worker_killed.log
    kill -9 "$p"
    break
  fi
done
wait $DRIVER
echo "# $(date -u +%FT%TZ) exit status $?" >> $LOGS/worker_killed.log

CMD=(reconstruct "$DATA" --available I --out "$OUT.resume" --engine ray --actors 2 --no-progress --limit 40
     --flush-every 8)
echo "# $(date -u +%FT%TZ) $PY -m l2g ${CMD[*]}" > $LOGS/driver_killed.log
nice -n 19 $PY -m l2g "${CMD[@]}" >> $LOGS/driver_killed.log 2>&1 &
DRIVER=$!
wait_for_part "$OUT.resume" $DRIVER
sleep 5
KIDS=$(descendants $DRIVER)
echo "# $(date -u +%FT%TZ) run.sh: kill -9 $DRIVER (the driver; $(echo $KIDS | wc -w) processes below it)" \
  >> $LOGS/driver_killed.log
kill -9 $DRIVER
wait $DRIVER 2>/dev/null
sleep 10
LEFT=$(for k in $KIDS; do kill -0 "$k" 2>/dev/null && echo "$k"; done)
echo "# $(date -u +%FT%TZ) of those, still running 10 s later: $(echo $LEFT | wc -w) ($(echo $LEFT))" \
  >> $LOGS/driver_killed.log
for k in $LEFT; do kill -9 "$k" 2>/dev/null; done  # this script's own processes, by id
echo "# $(date -u +%FT%TZ) $PY -m l2g ${CMD[*]}  (the same command again)" > $LOGS/resumed.log
nice -n 19 $PY -m l2g "${CMD[@]}" >> $LOGS/resumed.log 2>&1
echo "# $(date -u +%FT%TZ) exit status $?" >> $LOGS/resumed.log
