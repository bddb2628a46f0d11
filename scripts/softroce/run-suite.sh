#!/bin/bash
# The verbs suite on soft-RoCE, from the host (CI runs this after `npm test`):
#   1. builds what the guest runs, if anything is stale (the guest sees the
#      repository read-only): the native addons and dist/;
#   2. boots the soft-RoCE guest (run.sh) and, inside it,
#   3. runs the verbs tests (npm run test:softroce), then
#   4. dmem bench verbs beside perftest on the same device: 4 KiB READ
#      latency against ib_read_lat, 4 KiB WRITE bandwidth against
#      ib_write_bw, both printed, with the ratio of the READ latencies.
# Exit status: the tests'; when they pass, a failed benchmark fails it too.
# Numbers are printed, never asserted: software emulation is noisy.
#
# Usage: run-suite.sh [--no-bench] [--iters N] [--keep DIR]
#   --no-bench   tests only
#   --iters N    READ latency iterations, both tools (default 2000)
#   --keep DIR   leave the benchmark outputs (perftest text, dmem JSON) in DIR
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
say() { echo "run-suite: $*" >&2; }

# ---------------------------------------------------------------- in the guest
if [ "${1:-}" = --in-guest ]; then
  OUT=$2 BENCH=$3 ITERS=$4
  DEV=$DMEM_RDMA_DEVICE GID=$DMEM_RDMA_GID_INDEX
  cd "$ROOT"
  echo "== verbs tests on $DEV (RoCE v2 GID index $GID)"
  tests=0
  npm run --silent test:softroce || tests=$?
  [ "$BENCH" = 1 ] || exit "$tests"

  # wait_listen PORT [TRIES]
  . "$HERE/wait-listen.sh"
  # pair NAME PORT SERVER-CMD... -- CLIENT-ARGS...: the server in the
  # background, the client once it listens; both must succeed.
  pair() {
    local name=$1 port=$2 server=() s=0 c=0
    shift 2
    while [ "$1" != -- ]; do server+=("$1"); shift; done
    shift
    timeout 300 "${server[@]}" >"$OUT/$name.server" 2>&1 &
    local pid=$!
    if wait_listen "$port" 600; then
      timeout 300 "$@" >"$OUT/$name.client" 2>&1 || c=$?
    else
      echo "server never listened on port $port" >"$OUT/$name.client"
      c=1
    fi
    wait "$pid" || s=$?
    if [ "$c" -ne 0 ] || [ "$s" -ne 0 ]; then
      echo "FAIL $name (client status $c, server status $s)"
      sed 's/^/  server| /' "$OUT/$name.server"
      sed 's/^/  client| /' "$OUT/$name.client"
      return 1
    fi
  }
  bench=0
  dmem=(node "$ROOT/bin/dmem.js" bench verbs -d "$DEV" -x "$GID" -s 4096)
  perf=(-d "$DEV" -x "$GID" -s 4096 -F)
  echo "== benchmarks on $DEV, 4096 bytes (figures under software emulation: compare within this run only)"
  pair ib_read_lat 18515 ib_read_lat "${perf[@]}" -n "$ITERS" -p 18515 -- ib_read_lat "${perf[@]}" -n "$ITERS" -p 18515 127.0.0.1 || bench=1
  pair dmem_read 18516 "${dmem[@]}" -n "$ITERS" -p 18516 read -- "${dmem[@]}" -n "$ITERS" -p 18516 --json "$OUT/dmem-read.json" read 127.0.0.1 || bench=1
  pair ib_write_bw 18517 ib_write_bw "${perf[@]}" -p 18517 -- ib_write_bw "${perf[@]}" -p 18517 127.0.0.1 || bench=1
  pair dmem_write 18518 "${dmem[@]}" -n 5000 -p 18518 write -- "${dmem[@]}" -n 5000 -p 18518 --json "$OUT/dmem-write.json" write 127.0.0.1 || bench=1
  for f in ib_read_lat ib_write_bw; do
    [ -f "$OUT/$f.client" ] && grep -h -A1 '#bytes' "$OUT/$f.client" | sed "s/^/  $f| /"
  done
  for f in dmem_read dmem_write; do
    [ -f "$OUT/$f.client" ] && grep -v '^wrote ' "$OUT/$f.client" | sed "s/^/  $f| /"
  done
  node - "$OUT" <<'EOF' || bench=1
// The side-by-side summary: perftest's figures against dmem's, from this run.
const fs = require('node:fs');
const out = process.argv[2];
const dataLine = (file) => {
  const lines = fs.readFileSync(`${out}/${file}`, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('#bytes'));
  return lines[i + 1].trim().split(/\s+/).map(Number);
};
const lat = dataLine('ib_read_lat.client');   // bytes iters t_min t_max t_typical t_avg ...
const bw = dataLine('ib_write_bw.client');    // bytes iters BW_peak BW_average MsgRate
const read = JSON.parse(fs.readFileSync(`${out}/dmem-read.json`, 'utf8'));
const write = JSON.parse(fs.readFileSync(`${out}/dmem-write.json`, 'utf8'));
const row = (name, a, b) => `  ${name.padEnd(34)} ${String(a).padStart(12)} ${String(b).padStart(12)}`;
console.log('== dmem bench verbs beside perftest (same guest, same device, same run)');
console.log(row('', 'perftest', 'dmem'));
console.log(row('4 KiB READ latency p50 (us)', `${lat[4]} typ`, read.latencyUs.p50));
console.log(row('4 KiB READ latency p99 (us)', '-', read.latencyUs.p99));
console.log(row('4 KiB READ latency avg (us)', lat[5], read.latencyUs.avg));
console.log(row('4 KiB WRITE bandwidth (MB/s)', bw[3], write.bandwidth.mbPerSec));
console.log(row('4 KiB READ bandwidth (MB/s)', '-', read.bandwidth.mbPerSec));
const ratio = read.latencyUs.p50 / lat[4];
console.log(`  READ p50 ratio dmem / ib_read_lat t_typical = ${ratio.toFixed(2)} (target <= 1.25)`);
fs.writeFileSync(`${out}/summary.json`, JSON.stringify({ ibReadLat: { tTypicalUs: lat[4], tAvgUs: lat[5] }, ibWriteBw: { mbPerSec: bw[3] }, dmemRead: read, dmemWrite: write, ratio }, null, 2));
EOF
  echo "== tests: $([ "$tests" -eq 0 ] && echo passed || echo "FAILED (status $tests)"); benchmarks: $([ "$bench" -eq 0 ] && echo ok || echo FAILED)"
  [ "$tests" -ne 0 ] && exit "$tests"
  exit "$bench"
fi

# ---------------------------------------------------------------- on the host
BENCH=1 ITERS=2000 KEEP=
while [ $# -gt 0 ]; do
  case $1 in
    --no-bench) BENCH=0; shift ;;
    --iters) ITERS=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) say "unknown option $1"; exit 2 ;;
  esac
done
start=$(date +%s)
cd "$ROOT"

# Build what is stale: the guest cannot write the repository.
native=build/Release/dmem_verbs.node
if [ ! -f "$native" ] || [ ! -f build/Release/dmem_core.node ] ||
  [ -n "$(find native binding.gyp -newer "$native" -print -quit 2>/dev/null)" ]; then
  say "building the native addons"
  npm run --silent build:native >/dev/null
fi
[ -f "$native" ] || { say "dmem_verbs was not built: install libibverbs-dev (scripts/softroce/prepare.sh does)"; exit 1; }
if [ ! -f dist/index.js ] || [ -n "$(find lib -name '*.ts' -newer dist/index.js -print -quit)" ]; then
  say "compiling TypeScript"
  npx tsc -p tsconfig.json
fi

# Results come back through a directory shared read-write with the guest.
OUT=$(mktemp -d "${TMPDIR:-/var/tmp}/dmem-softroce-suite.XXXXXX")
trap '[ -n "$KEEP" ] && { mkdir -p "$KEEP"; cp -r "$OUT"/. "$KEEP"/; }; rm -rf "$OUT"' EXIT
status=0
# A checkout under /tmp, /run or /dev/shm is hidden in the guest (tmpfs
# there): share it explicitly (CI may clone anywhere).
shares=(--share "$OUT")
case "$(cd "$ROOT" && pwd -P)/" in /tmp/* | /run/* | /dev/shm/*) shares+=(--share "$ROOT") ;; esac
bash "$HERE/run.sh" --timeout 900 "${shares[@]}" --env NPM_CONFIG_UPDATE_NOTIFIER=false -- \
  bash "$HERE/run-suite.sh" --in-guest "$OUT" "$BENCH" "$ITERS" || status=$?
say "finished in $(($(date +%s) - start)) s with status $status"
exit "$status"
