#!/usr/bin/env bash
# Builds PetrelOS: build/guests/petrelos.elf (x86-64 PVH kernel, Embedded Swift).
# Usage: Guests/PetrelOS/build.sh   (from anywhere; idempotent; fails loudly)
# $PETREL_GUEST_DIR overrides the output directory (default build/guests).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT_DIR="${PETREL_GUEST_DIR:-$ROOT/build/guests}"
OBJ_DIR="$OUT_DIR/petrelos.obj"
ELF="$OUT_DIR/petrelos.elf"

# shellcheck source=../tools.sh
source "$HERE/../tools.sh"
SWIFTC="$(tool swiftc)"
CLANG="$(tool clang)"
LLD="$(tool ld.lld)"
OBJDUMP="$(tool llvm-objdump)"

# Only the Xen headers go on the include path (not all of /usr/include: the target is freestanding).
xen_include "$OBJ_DIR"

TARGET=x86_64-unknown-none-elf
# Kernel code: no SSE/MMX (this host's KVM backend does not emulate all of it, and no
# FPU state is set up), no red zone (interrupts share the stack), no stack protector.
CFLAGS=(-target "$TARGET" -ffreestanding -mno-red-zone -mno-sse -mno-mmx -I"$OBJ_DIR/include")

SWIFT_SOURCES=("$HERE"/Kernel/*.swift "$HERE"/Tests/*.swift)
ASM_SOURCES=("$HERE"/Boot/*.S)

OBJECTS=()
for src in "${ASM_SOURCES[@]}"; do
    obj="$OBJ_DIR/$(basename "$src" .S).o"
    "$CLANG" "${CFLAGS[@]}" -c "$src" -o "$obj"
    OBJECTS+=("$obj")
done

rm -f "$OBJ_DIR/kernel.o"
"$SWIFTC" -target "$TARGET" -enable-experimental-feature Embedded -wmo -parse-as-library -Osize \
    -swift-version 6 -module-name PetrelOS \
    -Xcc -mno-sse -Xcc -mno-mmx -Xcc -mno-red-zone -Xcc -I"$OBJ_DIR/include" \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -import-bridging-header "$HERE/Boot/PetrelOS.h" \
    -module-cache-path "$OBJ_DIR/module-cache" \
    -c "${SWIFT_SOURCES[@]}" -o "$OBJ_DIR/kernel.o"
OBJECTS+=("$OBJ_DIR/kernel.o")

"$LLD" -T "$HERE/Boot/linker.ld" --gc-sections -z noexecstack -z max-page-size=4096 --no-pie \
    --build-id=none -o "$ELF.tmp" "${OBJECTS[@]}"

# The guest must contain no SSE/MMX/x87 instructions (mnemonic and operands only,
# symbol names stripped).
FORBIDDEN='%(x|y|z)mm[0-9]|%mm[0-9]|%st(\(|\b)|^(f[a-z0-9]+|ldmxcsr|stmxcsr|emms)\b'
if "$OBJDUMP" -d --no-show-raw-insn "$ELF.tmp" | sed -n 's/^ *[0-9a-f]*:[[:space:]]*//p' | sed 's/<[^>]*>//g' \
        | grep -Eq "$FORBIDDEN"; then
    echo "build.sh: SSE/MMX/x87 instructions found in $ELF.tmp:" >&2
    "$OBJDUMP" -d --no-show-raw-insn "$ELF.tmp" | sed -n 's/^ *[0-9a-f]*:[[:space:]]*//p' | sed 's/<[^>]*>//g' \
        | grep -E "$FORBIDDEN" | head >&2
    exit 1
fi
mv "$ELF.tmp" "$ELF"
echo "built $ELF ($(stat -c %s "$ELF") bytes)"
