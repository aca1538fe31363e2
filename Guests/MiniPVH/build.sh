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

# shellcheck source=../tools.sh
source "$HERE/../tools.sh"
CLANG="$(tool clang)"
LLD="$(tool ld.lld)"

# Only the Xen headers go on the include path (the target is freestanding).
xen_include "$OBJ_DIR"

"$CLANG" -target x86_64-unknown-none-elf -ffreestanding -I"$OBJ_DIR/include" \
    -c "$HERE/mini.S" -o "$OBJ_DIR/mini.o"
"$LLD" -T "$HERE/linker.ld" -z noexecstack -z max-page-size=4096 --no-pie --build-id=none \
    -o "$ELF.tmp" "$OBJ_DIR/mini.o"
mv "$ELF.tmp" "$ELF"
echo "built $ELF ($(stat -c %s "$ELF") bytes)"
