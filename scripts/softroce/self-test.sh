#!/bin/bash
# Checks, inside the soft-RoCE guest, that the device really moves data:
#   bash scripts/softroce/run.sh -- bash scripts/softroce/self-test.sh
# Every test runs client and server on the same rxe0 (loopback through the
# guest's dummy0); out-of-band connection setup goes over 127.0.0.1.
# Prints each tool's summary lines and "N passed, N failed"; exits non-zero
# if anything failed. Nothing here asserts on timing: numbers under software
# emulation are only printed.
set -eu

[ "${DMEM_SOFTROCE_GUEST:-}" = 1 ] || { echo "self-test: run me inside the guest via run.sh" >&2; exit 2; }
DEV=$DMEM_RDMA_DEVICE
GID=$DMEM_RDMA_GID_INDEX
LOG=$(mktemp -d) # the guest's /tmp is a tmpfs
passed=0
failed=0
pids=()
stop_servers() { local p; for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done; }
trap stop_servers EXIT

result() { # name status
  if [ "$2" -eq 0 ]; then echo "PASS $1"; passed=$((passed + 1))
  else echo "FAIL $1 (status $2)"; failed=$((failed + 1)); fi
}

# wait_listen PORT [TRIES]
. "$(dirname "$0")/wait-listen.sh"

# Run server "$@" in the background and the same tool as client against
# 127.0.0.1; both must succeed. Output in $LOG/NAME.{server,client}.
pair() { # name port tool args...
  local name=$1 port=$2 tool=$3 s c
  shift 3
  timeout 120 "$tool" "$@" >"$LOG/$name.server" 2>&1 &
  pids+=($!)
  if wait_listen "$port"; then
    timeout 120 "$tool" "$@" 127.0.0.1 >"$LOG/$name.client" 2>&1 && c=0 || c=$?
  else
    echo "$name: server never listened on port $port" >"$LOG/$name.client"; c=1
  fi
  wait "${pids[-1]}" && s=0 || s=$?
  [ "$c" -eq 0 ] && [ "$s" -eq 0 ] && return 0
  echo "--- $name server:"; cat "$LOG/$name.server"
  echo "--- $name client:"; cat "$LOG/$name.client"
  return 1
}

echo "== device $DEV, GID index $GID ($(cat "/sys/class/infiniband/$DEV/ports/1/gids/$GID"))"

out=$(ibv_devices 2>&1) && st=0 || st=$?
echo "$out"
[ "$st" -eq 0 ] && grep -qw "$DEV" <<<"$out" && st=0 || st=1
result "ibv_devices lists $DEV" "$st"

out=$(ibv_devinfo -d "$DEV" 2>&1) && st=0 || st=$?
grep -E 'hca_id|transport|state|active_mtu|link_layer' <<<"$out" || true
[ "$st" -eq 0 ] && grep -q PORT_ACTIVE <<<"$out" && st=0 || st=1
result "ibv_devinfo -d $DEV: PORT_ACTIVE" "$st"

pair pingpong 18515 ibv_rc_pingpong -d "$DEV" -g "$GID" -p 18515 -n 100 && st=0 || st=$?
grep -h 'bytes in' "$LOG/pingpong.client" 2>/dev/null || true
result "ibv_rc_pingpong loopback (RC send/recv)" "$st"

# -F: don't fail on the CPU-frequency check, which means nothing in a VM.
pair read_lat 18516 ib_read_lat -d "$DEV" -x "$GID" -s 4096 -n 1000 -F -p 18516 && st=0 || st=$?
grep -h -A1 '#bytes' "$LOG/read_lat.client" 2>/dev/null || true
result "ib_read_lat loopback, 4096 B" "$st"

pair write_bw 18517 ib_write_bw -d "$DEV" -x "$GID" -s 4096 -n 1000 -F -p 18517 && st=0 || st=$?
grep -h -A1 '#bytes' "$LOG/write_bw.client" 2>/dev/null || true
result "ib_write_bw loopback, 4096 B" "$st"

out=$(timeout 120 node -e 'console.log(process.version)' 2>&1) && st=0 || st=$?
echo "node $out"
result "node runs" "$st"

echo "self-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
