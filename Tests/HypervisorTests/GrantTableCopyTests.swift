import GuestMemory
import Hypervisor
import Testing
import XenABI

/// `GNTTABOP_copy`: grants on either side, local frames, and every per-op status.
@Suite struct GrantTableCopyTests {
    /// The granter's pages that it grants to the mapper: refs 8..<8+pages, frames 0x200...
    static let firstRef: UInt32 = 8
    static let firstPage: UInt64 = 0x200

    func setUp(pages: Int = 4, flags: GrantEntryFlags = .permitAccess) throws -> GrantFixture {
        let g = try GrantFixture()
        for i in 0..<pages {
            try g.granter.memory.write(GrantFixture.pattern(UInt8(i)), at: GFN(Self.firstPage + UInt64(i)).address)
            try g.grant(Self.firstRef + UInt32(i), to: g.mapper.id, frame: GFN(Self.firstPage + UInt64(i)), flags: flags)
        }
        return g
    }

    func fromGrant(_ g: GrantFixture, _ ref: UInt32, offset: UInt16 = 0, to gfn: UInt64, destOffset: UInt16 = 0,
                   len: UInt16 = 4096) -> GnttabCopy {
        GnttabCopy(source: GnttabCopyPtr(ref: GrantRef(ref), domid: g.granter.id, offset: offset),
                   dest: GnttabCopyPtr(gmfn: GFN(gfn), offset: destOffset), len: len, flags: .sourceGref)
    }

    func toGrant(_ g: GrantFixture, from gfn: UInt64, _ ref: UInt32, len: UInt16 = 4096) -> GnttabCopy {
        GnttabCopy(source: GnttabCopyPtr(gmfn: GFN(gfn), offset: 0),
                   dest: GnttabCopyPtr(ref: GrantRef(ref), domid: g.granter.id, offset: 0), len: len, flags: .destGref)
    }

    @Test func copiesBetweenDomainsInPagesByteForByte() throws {
        let pages = 16
        let g = try setUp(pages: pages)
        // Granter → mapper: 16 pages, 4 KiB each, one batch.
        let ops = (0..<pages).map { fromGrant(g, Self.firstRef + UInt32($0), to: 0x300 + UInt64($0)) }
        let r = try g.copy(ops)
        #expect(r.rc == 0)
        #expect(r.statuses == Array(repeating: .okay, count: pages))
        for i in 0..<pages {
            #expect(try g.mapper.memory.read(at: GFN(0x300 + UInt64(i)).address, count: 4096) == GrantFixture.pattern(UInt8(i)))
        }
        // Mapper → granter, back into the granted pages, from other data.
        for i in 0..<pages { try g.mapper.memory.write(GrantFixture.pattern(UInt8(100 + i)), at: GFN(0x380 + UInt64(i)).address) }
        let back = (0..<pages).map { toGrant(g, from: 0x380 + UInt64($0), Self.firstRef + UInt32($0)) }
        #expect(try g.copy(back).statuses == Array(repeating: .okay, count: pages))
        for i in 0..<pages {
            #expect(try g.granter.memory.read(at: GFN(Self.firstPage + UInt64(i)).address, count: 4096)
                    == GrantFixture.pattern(UInt8(100 + i)))
            // The copy's pin is gone: no GTF_reading/writing left behind.
            #expect(try g.entry(Self.firstRef + UInt32(i)).flags == .permitAccess)
        }
    }

    @Test func offsetsAndPartialPages() throws {
        let g = try setUp(pages: 1)
        try g.mapper.memory.fill(0, at: GFN(0x300).address, count: 4096)
        let r = try g.copy([fromGrant(g, Self.firstRef, offset: 100, to: 0x300, destOffset: 4000, len: 96)])
        #expect(r.statuses == [.okay])
        let dest = try g.mapper.memory.read(at: GFN(0x300).address, count: 4096)
        #expect(Array(dest[4000..<4096]) == Array(GrantFixture.pattern(0)[100..<196]))
        #expect(dest[3999] == 0)
        // A zero-length copy is fine.
        #expect(try g.copy([fromGrant(g, Self.firstRef, to: 0x300, len: 0)]).statuses == [.okay])
    }

    @Test func localToLocalAndGrantToGrant() throws {
        let g = try setUp(pages: 2)
        try g.mapper.memory.write(GrantFixture.pattern(9), at: GFN(0x300).address)
        let local = GnttabCopy(source: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0),
                               dest: GnttabCopyPtr(gmfn: GFN(0x301), offset: 0), len: 4096, flags: [])
        #expect(try g.copy([local]).statuses == [.okay])
        #expect(try g.mapper.memory.read(at: GFN(0x301).address, count: 4096) == GrantFixture.pattern(9))
        let both = GnttabCopy(source: GnttabCopyPtr(ref: GrantRef(Self.firstRef), domid: g.granter.id, offset: 0),
                              dest: GnttabCopyPtr(ref: GrantRef(Self.firstRef + 1), domid: g.granter.id, offset: 0),
                              len: 4096, flags: [.sourceGref, .destGref])
        #expect(try g.copy([both]).statuses == [.okay])
        #expect(try g.granter.memory.read(at: GFN(Self.firstPage + 1).address, count: 4096) == GrantFixture.pattern(0))
    }

    @Test func perOpStatuses() throws {
        let g = try setUp(pages: 2)
        try g.grant(20, to: g.mapper.id, frame: GFN(0x210), flags: [.permitAccess, .readonly])
        try g.grant(21, to: DomainID(9), frame: GFN(0x211))
        try g.grant(22, to: g.mapper.id, frame: GFN(0x10_0000))
        let ref = Self.firstRef
        var mineAsGmfnByID = fromGrant(g, ref, to: 0x300)
        mineAsGmfnByID.dest.domid = g.mapper.id
        var unknownDomain = fromGrant(g, ref, to: 0x300)
        unknownDomain.source.domid = DomainID(999)
        var foreignFrame = fromGrant(g, ref, to: 0x300)
        foreignFrame.flags = []
        foreignFrame.source = GnttabCopyPtr(gmfn: GFN(0x200), domid: g.granter.id, offset: 0)
        let cases: [(GnttabCopy, GrantStatus)] = [
            (fromGrant(g, ref, to: 0x300), .okay),
            // A read-only grant is a fine source but cannot be a destination.
            (fromGrant(g, 20, to: 0x300), .okay),
            (toGrant(g, from: 0x300, 20), .generalError),
            // Granted to another domain.
            (fromGrant(g, 21, to: 0x300), .generalError),
            // Never granted, and beyond the table.
            (fromGrant(g, 30, to: 0x300), .generalError),
            (fromGrant(g, 512, to: 0x300), .badGntref),
            (toGrant(g, from: 0x300, 40_000), .badGntref),
            // The granted frame, or a local frame, with nothing behind it.
            (fromGrant(g, 22, to: 0x300), .badPage),
            (fromGrant(g, ref, to: 0x10_0000), .badPage),
            (fromGrant(g, ref, to: 1 << 50), .badPage),
            // Crossing the end of a page on either side.
            (fromGrant(g, ref, offset: 4000, to: 0x300, len: 97), .badCopyArg),
            (fromGrant(g, ref, to: 0x300, destOffset: 1, len: 4096), .badCopyArg),
            // Only DOMID_SELF may name a frame, even by the caller's own id.
            (mineAsGmfnByID, .permissionDenied),
            (foreignFrame, .permissionDenied),
            (unknownDomain, .badDomain),
        ]
        let r = try g.copy(cases.map(\.0))
        #expect(r.rc == 0)
        for (i, c) in cases.enumerated() {
            #expect(r.statuses[i] == c.1, "op \(i)")
        }
        for ref: UInt32 in [Self.firstRef, 20, 21, 22] {
            #expect(try !g.entry(ref).flags.contains(.reading), "ref \(ref)")
            #expect(g.granter.grantTable.pinCount(GrantRef(ref)) == 0)
        }
    }

    @Test func copyWhileMappedKeepsTheMapping() throws {
        let g = try setUp(pages: 1)
        let op = try g.map(Self.firstRef)
        #expect(op.status == .okay)
        #expect(try g.copy([fromGrant(g, Self.firstRef, to: 0x300)]).statuses == [.okay])
        #expect(try g.entry(Self.firstRef).flags == [.permitAccess, .reading, .writing])
        #expect(try g.unmap(op.handle) == .okay)
        #expect(try g.entry(Self.firstRef).flags == .permitAccess)
        // A page the mapper has only through a grant mapping is not its own frame to copy.
        let mapped = try g.map(Self.firstRef)
        let fromMapping = GnttabCopy(source: GnttabCopyPtr(gmfn: GrantFixture.hole.frame, offset: 0),
                                     dest: GnttabCopyPtr(gmfn: GFN(0x300), offset: 0), len: 16, flags: [])
        #expect(try g.copy([fromMapping]).statuses == [.badPage])
        #expect(try g.unmap(mapped.handle) == .okay)
    }

    @Test func faultingOpArray() throws {
        let g = try setUp(pages: 1)
        // 3 ops whose last two lie past the end of RAM: the first is done, then -EFAULT.
        let at = GVA(Fixture.ram - UInt64(GnttabCopy.size))
        try g.put(g.mapper, fromGrant(g, Self.firstRef, to: 0x300).bytes, at: at)
        #expect(g.call(g.mapper, .grantTableOp, UInt64(GrantTableOpCmd.copy.rawValue), at.raw, 3) == errno(.EFAULT))
        #expect(GnttabCopy(bytes: try g.get(g.mapper, GnttabCopy.size, at: at)).status == .okay)
        #expect(try g.mapper.memory.read(at: GFN(0x300).address, count: 4096) == GrantFixture.pattern(0))
    }

    @Test func bigBatchesAndStatusesAcrossPages() throws {
        // 300 ops (several chunks; op structs straddle page boundaries), from an odd offset.
        let g = try setUp(pages: 4)
        let at = GVA(0x13_0001)
        var ops: [GnttabCopy] = []
        for i in 0..<300 {
            let ref = Self.firstRef + UInt32(i % 4)
            let offset = UInt16(i % 8) * 512
            let destOffset = UInt16((i + 3) % 8) * 512
            ops.append(fromGrant(g, ref, offset: offset, to: 0x300 + UInt64(i % 16), destOffset: destOffset, len: 512))
        }
        try g.put(g.mapper, ops.flatMap(\.bytes), at: at)
        #expect(g.call(g.mapper, .grantTableOp, UInt64(GrantTableOpCmd.copy.rawValue), at.raw, 300) == 0)
        let back = try g.get(g.mapper, 300 * GnttabCopy.size, at: at)
        #expect((0..<300).allSatisfy { GnttabCopy(bytes: back, at: $0 * GnttabCopy.size).status == .okay })
        // Only the status fields changed.
        var expected = ops
        for i in expected.indices { expected[i].status = .okay }
        #expect(back == expected.flatMap(\.bytes))
    }

    @Test func concurrentCopiesAndMapsLeaveNoPins() async throws {
        let g = try setUp(pages: 4)
        let granter = g.granter, mapper = g.mapper
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<3 {
                group.addTask {
                    for i in 0..<300 {
                        let ref = GrantRef(Self.firstRef + UInt32((i + t) % 4))
                        try? GrantTable.copy(from: .grant(ref, in: granter, offset: 0),
                                             to: .frame(GFN(0x300 + UInt64(t)), in: mapper, offset: 0),
                                             length: 4096, by: mapper.id)
                        try? GrantTable.copy(from: .frame(GFN(0x300 + UInt64(t)), in: mapper, offset: 0),
                                             to: .grant(ref, in: granter, offset: 0), length: 64, by: mapper.id)
                    }
                }
            }
            group.addTask {
                for i in 0..<300 {
                    let ref = GrantRef(Self.firstRef + UInt32(i % 4))
                    if let m = try? GrantTable.map(ref: ref, from: granter, by: mapper.id, readonly: i % 2 == 0) {
                        _ = try? m.read(at: 0, count: 8)
                        GrantTable.unmap(m)
                    }
                }
            }
        }
        for i in 0..<4 {
            #expect(g.granter.grantTable.pinCount(GrantRef(Self.firstRef + UInt32(i))) == 0)
            #expect(try g.entry(Self.firstRef + UInt32(i)).flags == .permitAccess)
        }
    }
}
