import Atomics

/// Atomic access to words in memory the guest shares with us (ring indexes, event bitmaps).
/// Guest memory is plain mmap'd bytes, so the atomics are applied in place (`UnsafeAtomic`).
enum GuestAtomics {
    static func loadAcquire(_ p: UnsafeMutablePointer<UInt32>) -> UInt32 {
        // SAFETY: UInt32.AtomicRepresentation has UInt32's size and alignment; p is aligned.
        UnsafeAtomic<UInt32>(at: UnsafeMutablePointer(OpaquePointer(p))).load(ordering: .acquiring)
    }

    static func storeRelease(_ p: UnsafeMutablePointer<UInt32>, _ v: UInt32) {
        // SAFETY: as above.
        UnsafeAtomic<UInt32>(at: UnsafeMutablePointer(OpaquePointer(p))).store(v, ordering: .releasing)
    }

    static func fetchOr(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) -> UInt64 {
        // SAFETY: UInt64.AtomicRepresentation has UInt64's layout; p is 8-byte aligned.
        UnsafeAtomic<UInt64>(at: UnsafeMutablePointer(OpaquePointer(p))).loadThenBitwiseOr(with: v, ordering: .sequentiallyConsistent)
    }

    static func fetchAnd(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) -> UInt64 {
        // SAFETY: as above.
        UnsafeAtomic<UInt64>(at: UnsafeMutablePointer(OpaquePointer(p))).loadThenBitwiseAnd(with: v, ordering: .sequentiallyConsistent)
    }

    static func exchange(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt8) -> UInt8 {
        // SAFETY: UInt8.AtomicRepresentation has UInt8's layout.
        UnsafeAtomic<UInt8>(at: UnsafeMutablePointer(OpaquePointer(p))).exchange(v, ordering: .sequentiallyConsistent)
    }

    static func storeRelease64(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) {
        // SAFETY: as fetchOr.
        UnsafeAtomic<UInt64>(at: UnsafeMutablePointer(OpaquePointer(p))).store(v, ordering: .releasing)
    }
}

extension GuestAtomics {
    /// Compare-and-swap on a 32-bit word (Xen's `guest_cmpxchg` on a grant entry's flags+domid).
    static func compareExchange32(_ p: UnsafeMutablePointer<UInt32>, expected: UInt32, desired: UInt32) -> (exchanged: Bool, original: UInt32) {
        // SAFETY: UInt32.AtomicRepresentation has UInt32's layout; p is 4-byte aligned.
        UnsafeAtomic<UInt32>(at: UnsafeMutablePointer(OpaquePointer(p)))
            .compareExchange(expected: expected, desired: desired, ordering: .sequentiallyConsistent)
    }
}
