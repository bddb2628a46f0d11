# Sourced by the guest-side scripts (self-test.sh, run-suite.sh --in-guest).
#
# wait_listen PORT [TRIES]: wait until some process listens on TCP port PORT,
# trying TRIES times (default 300) 0.1 s apart. Reads /proc/net/tcp{,6} with
# shell builtins, as each process start costs ~0.1 s under emulation.
wait_listen() {
  local hex f addr st _ i
  hex=$(printf '%04X' "$1")
  for ((i = 0; i < ${2:-300}; i++)); do
    for f in /proc/net/tcp /proc/net/tcp6; do
      while read -r _ addr _ st _; do
        [ "${addr##*:}" = "$hex" ] && [ "$st" = 0A ] && return 0
      done <"$f"
    done
    sleep 0.1
  done
  return 1
}
