#!/usr/bin/env bash
# `make test` as CI runs it (`.ci/run`, CI=true) from a fresh clone of this checkout's HEAD, RUNS
# times (default 3), with two CPU hogs (`yes > /dev/null`) running beside it the whole time: the
# suite must stay green on a busy machine. Prints each run's result and time, then a summary;
# exits 1 if any run failed. The clones are made under a temp directory of this script's own and
# removed at the end (KEEP=1 keeps them, with each run's log).
set -uo pipefail
RUNS="${RUNS:-3}"
HOGS="${HOGS:-2}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/cronjobs-test-busy-XXXXXX")"
hogs=()
finish() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap finish EXIT
for _ in $(seq "$HOGS"); do
  yes > /dev/null &
  hogs+=("$!")
done
echo "test-busy: $RUNS runs of .ci/run beside $HOGS CPU hogs (pids ${hogs[*]}), HEAD $(git -C "$here" rev-parse --short HEAD)"
failed=0
results=()
for run in $(seq "$RUNS"); do
  clone="$work/run$run"
  git clone -q "$here" "$clone"
  start=$(date +%s)
  (cd "$clone" && CI=true bash .ci/run) > "$work/run$run.log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  summary=$(grep -E "^(nox > )?\*? ?(tests|lint|package|docs|tests-in-process)|[0-9]+ (passed|failed)" "$work/run$run.log" | tail -12)
  results+=("run $run: exit $rc in ${elapsed}s")
  echo "run $run: exit $rc in ${elapsed}s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "$summary" | sed 's/^/    /'
  [ "$rc" = 0 ] || { failed=1; tail -40 "$work/run$run.log" | sed 's/^/    | /'; }
  rm -rf "$clone"
done
printf '%s\n' "${results[@]}"
exit "$failed"
