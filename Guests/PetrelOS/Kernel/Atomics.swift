// Access to memory that Xen or another vCPU writes concurrently (shared_info,
// vcpu_info, grant entries, per-vCPU data): each load or store is one instruction in
// Boot/cpu.S behind an opaque call, so the compiler neither caches nor reorders it.
// On x86 (TSO) that is the ordering Xen's 2-level event ABI needs; `xchg` and the
// `lock`ed bit operations are full barriers.

extension PhysRegion {
    /// Address of `length` bytes at `offset`, bounds-checked.
    @inline(__always)
    func checkedAddress(_ offset: Int, _ length: Int) -> UInt64 {
        precondition(offset >= 0 && length >= 0 && offset + length <= size)
        return base + UInt64(offset)
    }

    func load8(_ offset: Int) -> UInt8 { petrel_load8(checkedAddress(offset, 1)) }
    func load16(_ offset: Int) -> UInt16 { petrel_load16(checkedAddress(offset, 2)) }
    func load32(_ offset: Int) -> UInt32 { petrel_load32(checkedAddress(offset, 4)) }
    func load64(_ offset: Int) -> UInt64 { petrel_load64(checkedAddress(offset, 8)) }
    func store8(_ offset: Int, _ value: UInt8) { petrel_store8(checkedAddress(offset, 1), value) }
    func store16(_ offset: Int, _ value: UInt16) { petrel_store16(checkedAddress(offset, 2), value) }
    func store32(_ offset: Int, _ value: UInt32) { petrel_store32(checkedAddress(offset, 4), value) }
    func store64(_ offset: Int, _ value: UInt64) { petrel_store64(checkedAddress(offset, 8), value) }

    /// Atomic exchange of the 64-bit word at `offset`; returns the old value.
    func exchange64(_ offset: Int, _ value: UInt64) -> UInt64 {
        petrel_xchg64(checkedAddress(offset, 8), value)
    }

    /// Atomic add to the 64-bit word at `offset`; returns the old value.
    @discardableResult
    func fetchAdd64(_ offset: Int, _ delta: UInt64) -> UInt64 {
        petrel_fetch_add64(checkedAddress(offset, 8), delta)
    }

    /// Atomic compare-and-exchange of the 16-bit word at `offset`; returns the old value.
    func compareExchange16(_ offset: Int, expected: UInt16, desired: UInt16) -> UInt16 {
        petrel_cmpxchg16(checkedAddress(offset, 2), expected, desired)
    }

    /// Bit `bit` of the bitmap starting at `offset` (little-endian 64-bit words).
    func testBit(_ offset: Int, _ bit: Int) -> Bool {
        petrel_test_bit(checkedAddress(offset + (bit >> 6) * 8, 8), UInt64(bit & 63))
    }

    /// Atomically clears the bit; returns whether it was set.
    @discardableResult
    func testAndClearBit(_ offset: Int, _ bit: Int) -> Bool {
        petrel_test_and_clear_bit(checkedAddress(offset + (bit >> 6) * 8, 8), UInt64(bit & 63))
    }

    /// Atomically sets the bit; returns whether it was already set.
    @discardableResult
    func testAndSetBit(_ offset: Int, _ bit: Int) -> Bool {
        petrel_test_and_set_bit(checkedAddress(offset + (bit >> 6) * 8, 8), UInt64(bit & 63))
    }

    /// Zeroes the region (size a multiple of 8) with one `rep stosq`.
    func zero() {
        precondition(size % 8 == 0)
        petrel_zero_qwords(checkedAddress(0, size), UInt64(size / 8))
    }
}
