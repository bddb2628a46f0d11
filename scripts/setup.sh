#!/usr/bin/env bash
# Installs what dmem needs to build and test on Debian or Ubuntu (run as root,
# or it uses sudo). Safe to run again: it installs only what is missing.
#   build:  g++, make, python3 (node-gyp), libibverbs-dev (the dmem_verbs addon)
#   run:    rdma-core, ibverbs-providers (RDMA devices, when there are any)
# Set DMEM_NO_VERBS=1 to skip the RDMA packages (dmem_verbs is then not built).
set -euo pipefail

packages=(g++ make python3 ca-certificates)
if [[ "${DMEM_NO_VERBS:-0}" != "1" ]]; then
  packages+=(libibverbs-dev rdma-core ibverbs-providers ibverbs-utils)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
[[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= 20 is required and none is installed: install Node.js 20 (e.g. from nodejs.org or NodeSource), then run this again" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major < 20)); then
  echo "setup: Node.js >= 20 is required, found $(node --version): install Node.js 20 (e.g. from nodejs.org or NodeSource)" >&2
  exit 1
fi
echo "setup: ready (node $(node --version), kernel $(uname -r))"
