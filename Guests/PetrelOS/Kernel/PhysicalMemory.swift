// Guest-physical memory access. The boot code identity-maps the first 4 GiB, so a
// guest-physical address below 4 GiB is also a valid virtual address. Raw pointers
// live only in this file; everyone else goes through bounds-checked `PhysRegion`
// accessors or `withGuestAddress`.

/// Highest address (exclusive) the boot page tables map.
let identityMappedLimit: UInt64 = 0x1_0000_0000

/// A window of identity-mapped guest-physical memory. Out-of-range offsets are bugs
/// and trap (they end up in the #UD handler, which reports them).
struct PhysRegion {
    let base: UInt64
    let size: Int

    init(base: UInt64, size: Int) {
        precondition(size >= 0 && base &+ UInt64(size) <= identityMappedLimit && base &+ UInt64(size) >= base)
        self.base = base
        self.size = size
    }

    func address(_ offset: Int) -> UInt64 {
        precondition(offset >= 0 && offset <= size)
        return base + UInt64(offset)
    }

    func sub(_ offset: Int, _ length: Int) -> PhysRegion {
        precondition(offset >= 0 && length >= 0 && offset + length <= size)
        return PhysRegion(base: base + UInt64(offset), size: length)
    }

    @inline(__always)
    private func pointer(_ offset: Int, _ length: Int) -> UnsafeMutableRawPointer {
        precondition(offset >= 0 && length >= 0 && offset + length <= size)
        // SAFETY: [base, base+size) is below `identityMappedLimit`, hence mapped 1:1 by
        // the boot page tables; the range check above keeps the access inside it.
        return UnsafeMutableRawPointer(bitPattern: UInt(base) + UInt(offset))!
    }

    func load<T: BitwiseCopyable>(_ type: T.Type, at offset: Int) -> T {
        pointer(offset, MemoryLayout<T>.size).loadUnaligned(as: T.self)
    }

    func store<T: BitwiseCopyable>(_ value: T, at offset: Int) {
        pointer(offset, MemoryLayout<T>.size).storeBytes(of: value, as: T.self)
    }

    /// A C struct of the Xen ABI (trivially copyable, but not BitwiseCopyable to Swift
    /// when it holds a union), at an offset aligned for it.
    func loadStruct<T>(_ type: T.Type, at offset: Int) -> T {
        precondition(offset % MemoryLayout<T>.alignment == 0)
        return pointer(offset, MemoryLayout<T>.size).load(as: T.self)
    }

    func storeStruct<T>(_ value: T, at offset: Int) {
        precondition(offset % MemoryLayout<T>.alignment == 0)
        let p = pointer(offset, MemoryLayout<T>.size)
        withUnsafeBytes(of: value) { bytes in
            // SAFETY: `bytes` is the value's own representation, size bytes long.
            p.copyMemory(from: bytes.baseAddress!, byteCount: MemoryLayout<T>.size)
        }
    }

    func u8(_ offset: Int) -> UInt8 { load(UInt8.self, at: offset) }
    func u16(_ offset: Int) -> UInt16 { load(UInt16.self, at: offset) }
    func u32(_ offset: Int) -> UInt32 { load(UInt32.self, at: offset) }
    func u64(_ offset: Int) -> UInt64 { load(UInt64.self, at: offset) }

    func fill(_ byte: UInt8, from offset: Int = 0, count: Int? = nil) {
        let n = count ?? (size - offset)
        let p = pointer(offset, n)
        for i in 0..<n { p.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
    }

    /// True if every byte in [offset, offset+count) equals `byte`.
    func all(_ byte: UInt8, from offset: Int = 0, count: Int? = nil) -> Bool {
        let n = count ?? (size - offset)
        for i in 0..<n where u8(offset + i) != byte { return false }
        return true
    }

    /// Length of the NUL-terminated string at `offset`, or nil if no NUL within the region.
    func cStringLength(at offset: Int = 0) -> Int? {
        var i = offset
        while i < size {
            if u8(i) == 0 { return i - offset }
            i += 1
        }
        return nil
    }

    /// True if `needle` occurs in the first `count` bytes.
    func contains(_ needle: StaticString, within count: Int) -> Bool {
        let n = needle.utf8CodeUnitCount
        if n == 0 { return true }
        if n > count { return false }
        for start in 0...(count - n) {
            var match = true
            for j in 0..<n where u8(start + j) != needle.byte(j) {
                match = false
                break
            }
            if match { return true }
        }
        return false
    }
}

extension StaticString {
    /// The j-th UTF-8 byte. StaticString literals in PetrelOS are ASCII.
    func byte(_ j: Int) -> UInt8 {
        precondition(j >= 0 && j < utf8CodeUnitCount)
        // SAFETY: utf8Start points at utf8CodeUnitCount bytes of constant data.
        return utf8Start[j]
    }
}

/// Passes the (identity-mapped) address of `value` to `body`, e.g. as a hypercall
/// argument. The kernel stack and image are below 4 GiB.
@inline(__always)
func withGuestAddress<T, R>(of value: inout T, _ body: (UInt64) -> R) -> R {
    // SAFETY: the pointer does not outlive `body`; the hypervisor writes at most
    // MemoryLayout<T>.size bytes through it while `body` runs.
    withUnsafeMutablePointer(to: &value) { body(UInt64(UInt(bitPattern: $0))) }
}

/// Fixed pages reserved by Boot/cpu.S.
enum StaticPages {
    /// Argument structs for hypercalls (one page).
    static var args: PhysRegion { PhysRegion(base: petrel_scratch_address(), size: 4096) }
    /// Data buffers for hypercalls (one page).
    static var data: PhysRegion { PhysRegion(base: petrel_scratch_address() + 4096, size: 4096) }
    static var hypercallPage: PhysRegion { PhysRegion(base: petrel_hypercall_page_address(), size: 4096) }
    static var lineBuffer: PhysRegion { PhysRegion(base: petrel_linebuf_address(), size: Int(PETREL_LINEBUF_SIZE)) }
}

/// A XEN_GUEST_HANDLE value (a guest-virtual address Xen copies to/from). It is only
/// handed to the hypervisor, never dereferenced here.
func guestHandle(_ address: UInt64) -> UnsafeMutableRawPointer? {
    // SAFETY: creating (not dereferencing) a pointer value for an ABI struct field.
    UnsafeMutableRawPointer(bitPattern: UInt(address))
}
