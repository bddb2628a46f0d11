#!/bin/bash
# Prepare (once) everything the soft-RoCE guest needs, cached outside the repo
# in ${DMEM_SOFTROCE_CACHE:-/var/tmp/dmem-softroce}:
#   - host packages (QEMU, static busybox, kmod, rdma-core tools, perftest)
#   - a Debian kernel package, downloaded and extracted with dpkg -x (NOT
#     installed: the host keeps its own kernel), with modules.dep made by depmod
#   - the uncompressed ELF vmlinux, which QEMU boots directly via its PVH entry
#     point: no firmware, no in-guest decompression (several seconds under TCG)
#   - the initramfs: static busybox, the modules we need, and ./init as PID 1
# Idempotent: a second run only checks and prints "cache ready".
# Concurrent runs are serialised by flock on $CACHE/.lock; every product is
# written to a temporary name and renamed into place, so a guest booting from
# the cache never sees a half-written file.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${DMEM_SOFTROCE_CACHE:-/var/tmp/dmem-softroce}
# Full-flavour kernel. The -cloud flavour lacks rdma_rxe and 9p.
KERNEL_META=${DMEM_SOFTROCE_KERNEL_META:-linux-image-amd64}
HOST_PKGS="qemu-system-x86 busybox-static kmod cpio gzip xz-utils grep iproute2
  util-linux coreutils rdma-core ibverbs-utils ibverbs-providers libibverbs-dev
  perftest"
# Modules the guest loads; their dependencies are added by modprobe below.
# crc32_generic: rdma_rxe asks the crypto API for "crc32" by name, which is no
# module dependency, so it must be loaded explicitly or rxe fails to add.
GUEST_MODULES="virtio_pci virtio_console 9pnet_virtio 9p dummy crc32_generic
  rdma_rxe ib_uverbs rdma_ucm"
# busybox applets the init script uses (symlinked in the initramfs)
APPLETS="sh mount umount mkdir mkfifo ln modprobe cat chroot ip sleep sync poweroff"

say() { echo "softroce: $*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "waiting for another prepare.sh holding $CACHE/.lock"
  flock 9
fi

# --- host packages ----------------------------------------------------------
APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  say "apt-get update"
  apt-get update -q >/dev/null
  APT_UPDATED=1
}
# DMEM_SOFTROCE_SKIP_APT=1 leaves host packages alone (e.g. while testing a
# build without libibverbs-dev); the guest still needs the runtime ones.
if [ "${DMEM_SOFTROCE_SKIP_APT:-0}" != 1 ]; then
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $HOST_PKGS 2>/dev/null |
    awk '$1 == "ii" { printf "%s ", $2 }')"
  missing=
  for p in $HOST_PKGS; do
    case $installed in *" $p "*) ;; *) missing="$missing $p" ;; esac
  done
  if [ -n "$missing" ]; then
    say "installing host packages:$missing"
    apt_update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
  fi
fi

# --- kernel: download, extract, depmod, vmlinux -----------------------------
# kernel-version is written last, so its presence means the kernel step is done.
# Once cached the kernel stays pinned, even if apt later offers a newer one
# (delete the cache directory to move on).
KV=$(cat "$CACHE/kernel-version" 2>/dev/null || true)
if [ -z "$KV" ] || [ ! -f "$CACHE/vmlinux" ] || [ ! -f "$CACHE/kernel/lib/modules/$KV/modules.dep" ]; then
  kpkg() { apt-cache depends "$KERNEL_META" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }'; }
  KPKG=$(kpkg)
  [ -n "$KPKG" ] || { apt_update; KPKG=$(kpkg); }
  [ -n "$KPKG" ] || { say "apt offers no $KERNEL_META"; exit 1; }
  rm -rf "$CACHE/debs" "$CACHE/kernel" "$CACHE/kernel.tmp" "$CACHE/vmlinux"
  mkdir -p "$CACHE/debs"
  say "downloading $KPKG"
  # A stale package list can name a version the mirror no longer has: refresh once.
  # (-o APT::Sandbox::User=root: the cache dir is not writable by user _apt)
  dl() { (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$KPKG" >/dev/null); }
  dl || { apt_update; KPKG=$(kpkg); dl; }
  say "extracting $KPKG"
  dpkg -x "$CACHE"/debs/"$KPKG"_*.deb "$CACHE/kernel.tmp"
  KV=$(ls "$CACHE/kernel.tmp/lib/modules")
  # modules.dep is normally made by the package's postinst, which dpkg -x skips
  depmod -b "$CACHE/kernel.tmp" "$KV"
  mv "$CACHE/kernel.tmp" "$CACHE/kernel"
  rm -rf "$CACHE/debs"

  # Debian's vmlinuz is a bzImage holding an xz-compressed ELF vmlinux: find
  # the xz stream and decompress just that stream (--single-stream ignores
  # the bzImage bytes that follow it).
  vmlinuz="$CACHE/kernel/boot/vmlinuz-$KV"
  off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
  [ -n "$off" ] || { say "no xz stream in $vmlinuz"; exit 1; }
  tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream >"$CACHE/vmlinux.tmp"
  magic=$(head -c 4 "$CACHE/vmlinux.tmp" | od -An -tx1 | tr -d ' \n')
  [ "$magic" = 7f454c46 ] || { say "decompressed kernel is not ELF"; exit 1; }
  mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
  echo "$KV" >"$CACHE/kernel-version.tmp"
  mv "$CACHE/kernel-version.tmp" "$CACHE/kernel-version"
fi

# --- initramfs ---------------------------------------------------------------
# Rebuilt whenever its inputs change: the init script, this script (module
# and applet lists), the kernel version or the busybox binary.
key=$( { echo "$KV"; cat "$HERE/init" "$HERE/prepare.sh" /bin/busybox; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$CACHE/initramfs.key" 2>/dev/null || true)" != "$key" ] || [ ! -f "$CACHE/initramfs.cpio.gz" ]; then
  say "building initramfs"
  stage=$(mktemp -d "$CACHE/stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/bin" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/host"
  # Copy the wanted modules plus their dependencies, keeping their paths, and
  # give the subset its own modules.dep so busybox modprobe can load all of
  # them in one process (each exec costs ~0.1-0.2 s under TCG).
  # (Built-in ones show as "builtin NAME" and need no file.)
  kos=$(for m in $GUEST_MODULES; do
    modprobe -d "$CACHE/kernel" -S "$KV" --show-depends "$m" || { say "no module $m"; exit 1; }
  done)
  echo "$kos" | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
    rel=${ko#"$CACHE/kernel/"}
    mkdir -p "$stage/$(dirname "$rel")"
    cp "$ko" "$stage/$rel"
  done
  cp "$CACHE/kernel/lib/modules/$KV"/modules.order "$CACHE/kernel/lib/modules/$KV"/modules.builtin* \
    "$stage/lib/modules/$KV/"
  depmod -b "$stage" "$KV"
  echo "$GUEST_MODULES" | tr -s ' \n' ' ' >"$stage/modules"
  cp /bin/busybox "$stage/bin/busybox"
  for a in $APPLETS; do ln -s busybox "$stage/bin/$a"; done
  install -m 0755 "$HERE/init" "$stage/init"
  (cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$CACHE/initramfs.tmp"
  mv "$CACHE/initramfs.tmp" "$CACHE/initramfs.cpio.gz"
  echo "$key" >"$CACHE/initramfs.key"
  rm -rf "$stage"
  trap - EXIT
fi

say "cache ready in $CACHE (kernel $KV)"
