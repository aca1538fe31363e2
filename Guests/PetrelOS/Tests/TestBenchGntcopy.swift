// test=bench-gntcopy [bytes=1048576]: GNTTABOP_copy of `bytes` in 4 KiB pieces, 64 ops
// per hypercall, from one local frame to another (gmfns, DOMID_SELF: no grants), then
// a plain memcpy of the same bytes in the guest, same run:
//   bench gntcopy bytes=B copy_cycles=C memcpy_cycles=M

enum TestBenchGntcopy {
    static let piece = 4096
    static let batch = 64

    static func run(_ t: inout TestContext) {
        guard let bytes = TestRunner.parameter(&t, "bytes", default: 1 << 20, range: 1...(1 << 40)) else { return }
        let src = WorkArea.buffer(0)
        let dst = WorkArea.buffer(1)
        let ops = WorkArea.buffer(2)
        for i in 0..<piece { src.store(UInt8(truncatingIfNeeded: i &* 13 &+ 1), at: i) }
        dst.fill(0)
        let size = GrantTable.copySize
        precondition(batch * size <= ops.size)
        let full = GrantTable.copyOp(source: src.base / 4096, sourceOffset: 0, dest: dst.base / 4096, destOffset: 0,
                                     length: UInt16(piece))
        for i in 0..<batch { ops.storeStruct(full, at: i * size) }

        let pieces = (bytes + UInt64(piece) - 1) / UInt64(piece)
        let tail = Int(bytes - (pieces - 1) * UInt64(piece))       // 1...4096 bytes in the last piece
        // Warm-up (first touches, Xen's mappings), checked.
        t.expectRC("GNTTABOP_copy warm-up", GrantTable.op(GNTTABOP_copy, ops.base, 1), 0)
        t.expectRC("GNTTABOP_copy warm-up status", Int64(ops.loadStruct(gnttab_copy.self, at: 0).status), Int64(GNTST_okay))
        guard t.ok else { return }
        Console.flush()

        var remaining = pieces
        let start = petrel_rdtsc()
        while remaining > 0 {
            let k = Int(min(remaining, UInt64(batch)))
            if remaining <= UInt64(batch) && tail != piece {
                var last = full
                last.len = UInt16(tail)
                ops.storeStruct(last, at: (k - 1) * size)
            }
            let rc = GrantTable.op(GNTTABOP_copy, ops.base, UInt32(k))
            if rc != 0 { return t.expectRC("GNTTABOP_copy", rc, 0) }
            remaining -= UInt64(k)
        }
        let copyCycles = petrel_rdtsc() &- start
        let lastCount = Int((pieces - 1) % UInt64(batch)) + 1
        for i in 0..<lastCount {
            let status = ops.loadStruct(gnttab_copy.self, at: i * size).status
            if status != Int16(GNTST_okay) { return t.expectRC("GNTTABOP_copy status", Int64(status), Int64(GNTST_okay)) }
        }
        for i in 0..<tail where dst.u8(i) != src.u8(i) {
            return t.expectEqual("GNTTABOP_copy data at offset", UInt64(i), UInt64(piece))
        }

        dst.fill(0)
        let memStart = petrel_rdtsc()
        var p: UInt64 = 0
        while p < pieces {
            petrel_memcpy(dst.base, src.base, UInt64(p == pieces - 1 ? tail : piece))
            p += 1
        }
        let memcpyCycles = petrel_rdtsc() &- memStart
        out.s("bench gntcopy bytes=").dec(bytes).s(" copy_cycles=").dec(copyCycles)
            .s(" memcpy_cycles=").dec(memcpyCycles).end()
    }
}
