# Shared by the guests' build scripts (sourced): the LLVM tools beside swiftc, and the Xen
# public headers as the only include path of a freestanding target.

# tool NAME: /opt/swift/usr/bin/NAME, else NAME on PATH; fails loudly.
tool() {
    if [ -x "/opt/swift/usr/bin/$1" ]; then echo "/opt/swift/usr/bin/$1"
    elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
    else echo "build.sh: $1 not found (looked in /opt/swift/usr/bin and PATH)" >&2; exit 1
    fi
}

# xen_include OBJ_DIR: links /usr/include/xen as OBJ_DIR/include/xen (apt-get install libxen-dev).
xen_include() {
    local xen=/usr/include/xen
    [ -f "$xen/xen.h" ] || { echo "build.sh: Xen public headers missing at $xen (apt-get install libxen-dev)" >&2; exit 1; }
    mkdir -p "$1/include"
    ln -sfn "$xen" "$1/include/xen"
}
