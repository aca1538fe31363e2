import Testing
import XenABI

// Sizes and offsets below are what clang reports for Xen 4.17's grant_table.h on x86-64
// (the CXenLayout target is not a dependency of this test target).

@Suite struct GrantTableABITests {
    @Test func sizes() {
        #expect(GrantEntryV1.size == 8)
        #expect(GrantEntryV1.perFrame == 512)
        #expect(GnttabMapGrantRef.size == 32)
        #expect(GnttabUnmapGrantRef.size == 24)
        #expect(GnttabSetupTable.size == 24)
        #expect(GnttabCopy.size == 40)
        #expect(GnttabCopyPtr.size == 16)
        #expect(GnttabQuerySize.size == 16)
        #expect(GnttabSetVersion.size == 4)
        #expect(GnttabGetStatusFrames.size == 16)
        #expect(GnttabGetVersion.size == 8)
    }

    @Test func offsets() {
        typealias M = GnttabMapGrantRef.Offset
        #expect([M.hostAddr, M.flags, M.ref, M.dom, M.status, M.handle, M.devBusAddr] == [0, 8, 12, 16, 18, 20, 24])
        typealias U = GnttabUnmapGrantRef.Offset
        #expect([U.hostAddr, U.devBusAddr, U.handle, U.status] == [0, 8, 16, 20])
        typealias S = GnttabSetupTable.Offset
        #expect([S.dom, S.nrFrames, S.status, S.frameList] == [0, 4, 8, 16])
        typealias C = GnttabCopy.Offset
        #expect([C.source, C.dest, C.len, C.flags, C.status] == [0, 16, 32, 34, 36])
        typealias P = GnttabCopyPtr.Offset
        #expect([P.u, P.domid, P.offset] == [0, 8, 10])
        typealias Q = GnttabQuerySize.Offset
        #expect([Q.dom, Q.nrFrames, Q.maxNrFrames, Q.status] == [0, 4, 8, 12])
        typealias G = GnttabGetStatusFrames.Offset
        #expect([G.nrFrames, G.dom, G.status, G.frameList] == [0, 4, 6, 8])
        typealias V = GnttabGetVersion.Offset
        #expect([V.dom, V.pad, V.version] == [0, 2, 4])
        typealias E = GrantEntryV1.Offset
        #expect([E.flags, E.domid, E.frame] == [0, 2, 4])
    }

    @Test func constants() {
        #expect(GrantTableOpCmd.mapGrantRef.rawValue == 0)
        #expect(GrantTableOpCmd.copy.rawValue == 5)
        #expect(GrantTableOpCmd.querySize.rawValue == 6)
        #expect(GrantTableOpCmd.setVersion.rawValue == 8)
        #expect(GrantTableOpCmd.getVersion.rawValue == 10)
        #expect(GrantTableOpCmd.cacheFlush.rawValue == 12)
        #expect(GrantEntryFlags.permitAccess.rawValue == 1)
        #expect(GrantEntryFlags.acceptTransfer.rawValue == 2)
        #expect(GrantEntryFlags.readonly.rawValue == 4)
        #expect(GrantEntryFlags.reading.rawValue == 8)
        #expect(GrantEntryFlags.writing.rawValue == 16)
        #expect(GrantEntryFlags.subPage.rawValue == 256)
        #expect(GrantMapFlags.hostMap.rawValue == 2)
        #expect(GrantMapFlags.readonly.rawValue == 4)
        #expect(GrantMapFlags.containsPTE.rawValue == 16)
        #expect(GrantCopyFlags.destGref.rawValue == 2)
        #expect(GrantStatus.badCopyArg.rawValue == -10)
        #expect(GrantStatus.eagain.rawValue == -12)
        #expect(GrantStatus.noSpace.rawValue == -13)
        #expect(GrantStatus.badGntref.description == "invalid grant reference")
    }

    @Test func encodesAtCOffsets() {
        let m = GnttabMapGrantRef(hostAddr: 0x1122_3344_5566_7788, flags: [.hostMap, .readonly], ref: GrantRef(0xA0B0C0D0),
                                  dom: DomainID(0x1234), status: .badPage, handle: GrantHandle(0xDEAD_BEEF),
                                  devBusAddr: 0x99)
        let b = m.bytes
        #expect(b[0] == 0x88 && b[7] == 0x11)
        #expect(b[8] == 6 && b[12] == 0xD0 && b[15] == 0xA0)
        #expect(b[16] == 0x34 && b[17] == 0x12)
        #expect(b[18] == 0xF7 && b[19] == 0xFF)  // -9
        #expect(b[20] == 0xEF && b[23] == 0xDE && b[24] == 0x99)
        #expect(GnttabMapGrantRef(bytes: b) == m)

        let c = GnttabCopy(source: GnttabCopyPtr(ref: GrantRef(7), domid: DomainID(3), offset: 0x10),
                           dest: GnttabCopyPtr(gmfn: GFN(0x1_2345_6789), offset: 0x20),
                           len: 0x300, flags: .sourceGref, status: .badCopyArg)
        let cb = c.bytes
        #expect(cb[0] == 7 && cb[8] == 3 && cb[10] == 0x10)
        #expect(cb[16] == 0x89 && cb[20] == 0x01 && cb[24] == 0xF0 && cb[25] == 0x7F && cb[26] == 0x20)
        #expect(cb[32] == 0x00 && cb[33] == 0x03 && cb[34] == 1 && cb[36] == 0xF6)
        #expect(GnttabCopy(bytes: cb) == c)
        #expect(GnttabCopy(bytes: [0, 0] + cb, at: 2) == c)

        for s in [GnttabSetupTable(dom: .domidSelf, nrFrames: 4, status: .generalError, frameList: GVA(0x1000))] {
            #expect(GnttabSetupTable(bytes: s.bytes) == s)
        }
        let q = GnttabQuerySize(dom: DomainID(5), nrFrames: 2, maxNrFrames: 32, status: .badDomain)
        #expect(GnttabQuerySize(bytes: q.bytes) == q)
        let u = GnttabUnmapGrantRef(hostAddr: 0x5000, devBusAddr: 0x6000, handle: GrantHandle(9), status: .badHandle)
        #expect(GnttabUnmapGrantRef(bytes: u.bytes) == u)
        let g = GnttabGetStatusFrames(nrFrames: 1, dom: .domidSelf, status: .okay, frameList: GVA(0x2000))
        #expect(GnttabGetStatusFrames(bytes: g.bytes) == g)
        let e = GrantEntryV1(flags: [.permitAccess, .readonly], domid: DomainID(2), frame: 0x1234)
        #expect(e.bytes == [5, 0, 2, 0, 0x34, 0x12, 0, 0])
        #expect(GrantEntryV1(bytes: e.bytes) == e)
    }
}
