import Testing
import XenABI
@testable import XenStore

@Suite struct PermissionTests {
    @Test func wireEncoding() throws {
        let p = try XenStorePermissions(wireStrings: [Array("r0".utf8), Array("w5".utf8), Array("b7".utf8), Array("n12".utf8)])
        #expect(p.owner == DomainID(0) && p.defaultAccess == .read)
        #expect(p.wireEncoding == Array("r0\0w5\0b7\0n12\0".utf8))
        #expect(p.description == "r0 w5 b7 n12")
        #expect(throws: XenStoreError.EINVAL) { try XenStorePermissions(wireStrings: [Array("x0".utf8)]) }
        #expect(throws: XenStoreError.EINVAL) { try XenStorePermissions(wireStrings: [Array("r70000".utf8)]) }
        #expect(throws: XenStoreError.EINVAL) { try XenStorePermissions(wireStrings: [[]]) }
    }

    @Test func guestCannotSeeOtherDomains() throws {
        let d = try daemonWithGuests([5, 6])
        try d.write("/local/domain/6/data/secret", "x")
        let g5 = TestClient(d, as: DomainID(5))
        #expect(g5.read("/local/domain/6/data/secret").failure == .EACCES)
        #expect(g5.write("/local/domain/6/data/secret", "y") == .EACCES)
        #expect(g5.directory("/local/domain/6").failure == .EACCES)
        #expect(g5.read("/tool/xenstored").failure == .EACCES)
        // Missing nodes below something unreadable report EACCES, not ENOENT.
        #expect(g5.read("/local/domain/6/data/nope").failure == .EACCES)
        #expect(g5.read("/local/domain/5/data/nope").failure == .ENOENT)
        // Its own home is readable (r5), its data directory writable (owned).
        #expect(g5.read("/local/domain/5/name").value == "guest5")
        #expect(g5.write("/local/domain/5/name", "rename") == .EACCES)
        #expect(g5.write("/local/domain/5/data/k", "v") == nil)
        #expect(g5.write("/local/domain/5/newdir/k", "v") == .EACCES)
        #expect(g5.write("/x", "v") == .EACCES)
    }

    @Test func createdNodesInheritAndAreOwnedByCreator() throws {
        let d = try daemonWithGuests([5])
        try d.write("/shared", "")
        try d.setPermissions("/shared", XenStorePermissions(owner: .control, others: .none,
                                                             [XenStorePermission(DomainID(5), .both)]))
        let g5 = TestClient(d, as: DomainID(5))
        #expect(g5.write("/shared/a/b", "v") == nil)
        // Parent's entries are copied and the owner becomes the creating guest.
        #expect(try d.permissions("/shared/a/b").description == "n5 b5")
        #expect(try d.permissions("/shared/a").description == "n5 b5")
        // dom0 creations keep the parent's owner.
        try d.write("/shared/t/u", "")
        #expect(try d.permissions("/shared/t/u").description == "n0 b5")
    }

    @Test func getAndSetPerms() throws {
        let d = try daemonWithGuests([5, 6])
        let g5 = TestClient(d, as: DomainID(5))
        _ = g5.write("data/p", "v")
        #expect(g5.call(.getPerms, ["data/p"]).value == Array("n5\0".utf8))
        // The owner may share with 6.
        #expect(g5.error(.setPerms, ["data/p", "n5", "r6"]) == nil)
        #expect(TestClient(d, as: DomainID(6)).read("/local/domain/5/data/p").value == "v")
        #expect(TestClient(d, as: DomainID(6)).write("/local/domain/5/data/p", "w") == .EACCES)
        // An unprivileged owner cannot give a node away; others cannot change it at all.
        #expect(g5.error(.setPerms, ["data/p", "n6"]) == .EPERM)
        #expect(TestClient(d, as: DomainID(6)).error(.setPerms, ["/local/domain/5/data/p", "b6"]) == .EACCES)
        // Malformed requests.
        #expect(g5.error(.setPerms, ["data/p"]) == .EINVAL)
        #expect(g5.error(.setPerms, ["data/p", "q5"]) == .EINVAL)
        #expect(g5.error(.setPerms, ["data/missing", "n5"]) == .ENOENT)
        // dom0 may do anything, including the special nodes.
        let t = TestClient(d)
        #expect(t.error(.setPerms, ["/local/domain/5/data/p", "b6"]) == nil)
        #expect(t.error(.setPerms, ["@releaseDomain", "r0"]) == nil)
        #expect(t.call(.getPerms, ["@releaseDomain"]).value == Array("r0\0".utf8))
    }

    @Test func setTargetGrantsTargetsRights() throws {
        let d = try daemonWithGuests([5, 6])
        let stub = TestClient(d, as: DomainID(6))
        #expect(stub.read("/local/domain/5/name").failure == .EACCES)
        #expect(TestClient(d).error(.setTarget, ["6", "5"]) == nil)
        #expect(stub.read("/local/domain/5/name").value == "guest5")
        #expect(stub.write("/local/domain/5/data/x", "dm") == nil)
        #expect(TestClient(d).error(.setTarget, ["6", "9"]) == .ENOENT)
        #expect(stub.error(.setTarget, ["6", "5"]) == .EACCES)
    }
}
