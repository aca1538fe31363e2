import Testing
import XenABI
@testable import XenStore

@Suite struct DomainTests {
    @Test func introduceOverTheWire() {
        let d = XenStored.quiet()
        let t = TestClient(d)
        #expect(t.call(.isDomainIntroduced, ["9"]).value == Array("F\0".utf8))
        #expect(t.error(.introduce, ["9", "4660", "3"]) == nil)
        #expect(t.call(.isDomainIntroduced, ["9"]).value == Array("T\0".utf8))
        #expect(d.isDomainIntroduced(DomainID(9)))
        #expect(t.call(.isDomainIntroduced, ["32752"]).value == Array("T\0".utf8))   // DOMID_SELF
        #expect(t.error(.introduce, ["9", "4660", "0"]) == .EINVAL)                 // port must be > 0
        #expect(t.error(.introduce, ["9", "4660"]) == .EINVAL)
        #expect(t.error(.introduce, ["9", "4660", "3"]) == nil)                     // again: fine
        #expect(t.error(.resume, ["9"]) == nil)
        #expect(t.error(.resume, ["0"]) == .EINVAL)
        #expect(t.error(.resume, ["8"]) == .ENOENT)
        #expect(t.error(.release, ["0"]) == .EINVAL)
        #expect(t.error(.release, ["8"]) == .ENOENT)
        #expect(t.error(.release, ["9"]) == nil)
        #expect(!d.isDomainIntroduced(DomainID(9)))
    }

    @Test func privilegedOperationsNeedPrivilege() throws {
        let d = try daemonWithGuests([5])
        let g = TestClient(d, as: DomainID(5))
        for (type, args) in [(XenStoreMessageType.introduce, ["6", "1", "1"]), (.release, ["5"]),
                             (.isDomainIntroduced, ["5"]), (.resume, ["5"]), (.setTarget, ["5", "5"]),
                             (.control, ["print", "hi"])] {
            #expect(g.error(type, args) == .EACCES, "\(type)")
        }
        #expect(g.call(.getDomainPath, ["7"]).value == Array("/local/domain/7\0".utf8))
    }

    @Test func releaseRemovesOwnedNodesAndGrants() throws {
        let d = try daemonWithGuests([5, 6])
        let g5 = TestClient(d, as: DomainID(5))
        _ = g5.write("data/mine", "x")
        try d.write("/shared/n", "")
        try d.setPermissions("/shared/n", XenStorePermissions(owner: .control, others: .none,
                                                              [XenStorePermission(DomainID(5), .read)]))
        let w = TestClient(d)
        _ = w.call(.watch, ["/local/domain/5", "home"])
        _ = w.events()
        try d.releaseDomain(DomainID(5))
        // Nodes owned by 5 are gone; the dom0-owned home and name stay for the toolstack.
        #expect(!d.exists("/local/domain/5/data"))
        #expect(!d.exists("/local/domain/5/control/shutdown"))
        #expect(d.exists("/local/domain/5/name"))
        #expect(try d.permissions("/shared/n") == XenStorePermissions(owner: .control))
        #expect(w.events().map(\.path).contains("/local/domain/5/data"))
        // A new domain 5 does not inherit the old one's grants.
        try d.introduceDomain(DomainID(5), gfn: GFN(1), port: EvtchnPort(1))
        #expect(TestClient(d, as: DomainID(5)).read("/shared/n").failure == .EACCES)
        #expect(d.exists("/local/domain/6/data"))
    }

    @Test func createDomainHomeMatchesLibxl() throws {
        let d = XenStored.quiet()
        try d.createDomainHome(DomainID(3), name: "vm")
        #expect(try d.directory("/local/domain/3") == ["cpu", "memory", "device", "control", "data", "drivers",
                                                       "feature", "attr", "error", "name", "domid"])
        #expect(try d.permissions("/local/domain/3").description == "n0 r3")
        #expect(try d.permissions("/local/domain/3/device").description == "n0 r3")
        #expect(try d.permissions("/local/domain/3/data").description == "n3")
        #expect(try d.permissions("/local/domain/3/control/shutdown").description == "n3")
        #expect(try d.readString("/local/domain/3/name") == "vm")
        #expect(try d.readString("/local/domain/3/domid") == "3")
        #expect(try d.directory("/local/domain") == ["3"])
        #expect(try d.permissions("/local/domain").description == "n0")
    }

    @Test func control() {
        let t = TestClient(XenStored.quiet())
        #expect(t.error(.control, ["print", "hello from a test"]) == nil)
        #expect(t.error(.control, ["log"]) == nil)
        #expect(t.error(.control, ["log", "on"]) == nil)
        #expect(t.error(.control, ["print"]) == .EINVAL)
        #expect(t.error(.control, ["no-such-command"]) == .EINVAL)
        #expect(t.error(.control, []) == .EINVAL)
        let help = t.call(.control, ["help"]).value.map { String(decoding: $0, as: UTF8.self) }
        #expect(help?.contains("print <string>") == true)
        let quota = t.call(.control, ["quota"]).value.map { String(decoding: $0, as: UTF8.self) }
        #expect(quota?.contains("nodes") == true)
    }
}
