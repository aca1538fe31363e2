#!/usr/bin/env bash
# Builds PetrelOS-mini: build/guests/minipvh.elf, a minimal x86-64 PVH guest in assembly
# (prints one line and powers off; `petrel bench boot` boots it on Petrel and on QEMU).
# Usage: Guests/MiniPVH/build.sh   (from anywhere; idempotent; fails loudly)
# $PETREL_GUEST_DIR overrides the output directory (default build/guests).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT_DIR="${PETREL_GUEST_DIR:-$ROOT/build/guests}"
OBJ_DIR="$OUT_DIR/minipvh.obj"
ELF="$OUT_DIR/minipvh.elf"

tool() {
    if [ -x "/opt/swift/usr/bin/$1" ]; then echo "/opt/swift/usr/bin/$1"
    elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
    else echo "build.sh: $1 not found (looked in /opt/swift/usr/bin and PATH)" >&2; exit 1
    fi
}
CLANG="$(tool clang)"
LLD="$(tool ld.lld)"

XEN_INCLUDE=/usr/include/xen
[ -f "$XEN_INCLUDE/xen.h" ] || { echo "build.sh: Xen public headers missing at $XEN_INCLUDE (apt-get install libxen-dev)" >&2; exit 1; }

mkdir -p "$OBJ_DIR/include"
# Only the Xen headers go on the include path (the target is freestanding).
ln -sfn "$XEN_INCLUDE" "$OBJ_DIR/include/xen"

"$CLANG" -target x86_64-unknown-none-elf -ffreestanding -I"$OBJ_DIR/include" \
    -c "$HERE/mini.S" -o "$OBJ_DIR/mini.o"
"$LLD" -T "$HERE/linker.ld" -z noexecstack -z max-page-size=4096 --no-pie --build-id=none \
    -o "$ELF.tmp" "$OBJ_DIR/mini.o"
mv "$ELF.tmp" "$ELF"
echo "built $ELF ($(stat -c %s "$ELF") bytes)"
