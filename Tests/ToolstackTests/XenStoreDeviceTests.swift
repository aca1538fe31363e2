import GuestMemory
import Hypervisor
import Testing
import XenABI
import XenStore
@testable import Toolstack

/// `DomainDevices.attachXenStore` / `detachXenStore` / `requestShutdown`: the nodes, params,
/// ring and event channel libxl would set up, and their removal.
@Suite struct XenStoreDeviceTests {
    @Test func attachPublishesTheRingAndTheNodesLibxlWrites() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain("vm-one", vcpus: 2)
        let xs = w.xenstored
        let home = XenStored.domainPath(d.id)
        let port = EvtchnPort(UInt32(d.params[HVMParam.storeEvtchn]))

        #expect(d.params[HVMParam.storePFN] == DomainLayout.gfn(of: .xenstore).raw)
        #expect(d.eventChannels.state(port) == .interdomain(remote: .control, remotePort: EvtchnPort(0)))
        #expect(port != EvtchnPort(UInt32(d.params[HVMParam.consoleEvtchn])))
        #expect(xs.isDomainIntroduced(d.id))
        #expect(xs.ringConnection(for: d.id)?.port == port)

        #expect(try xs.readString(home + "/name") == "vm-one")
        #expect(try xs.readString(home + "/domid") == "\(d.id.raw)")
        #expect(try xs.readString(home + "/memory/static-max") == "4096")
        #expect(try xs.readString(home + "/memory/target") == "4096")
        #expect(try xs.readString(home + "/cpu/0/availability") == "online")
        #expect(try xs.readString(home + "/cpu/1/availability") == "online")
        #expect(try xs.directory(home + "/cpu") == ["0", "1"])
        #expect(try xs.readString(home + "/store/port") == "\(port.raw)")
        #expect(try xs.readString(home + "/store/ring-ref") == "\(DomainLayout.gfn(of: .xenstore).raw)")
        #expect(try xs.readString(home + "/control/platform-feature-xs_reset_watches") == "1")

        let vm = try xs.readString(home + "/vm")
        #expect(vm == "/vm/" + DomainDevices.uuidString(d.config.handle))
        #expect(try xs.readString(vm + "/name") == "vm-one")
        #expect(try xs.readString(vm + "/uuid") == DomainDevices.uuidString(d.config.handle))
        #expect(try xs.readString(vm + "/start_time").contains("."))

        // The guest may read its home but not write what dom0 owns; it owns control/shutdown.
        let readOnly = XenStorePermissions(owner: .control, others: .none, [XenStorePermission(d.id, .read)])
        #expect(try xs.permissions(home) == readOnly)
        #expect(try xs.permissions(home + "/memory/target") == readOnly)
        #expect(try xs.permissions(home + "/control/shutdown").owner == d.id)
        #expect(try xs.permissions(vm) == readOnly)
    }

    @Test func consoleNodesFollowLibxlDeviceConsoleAdd() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain()
        let xs = w.xenstored
        let front = XenStored.domainPath(d.id) + "/console"
        let back = "/local/domain/0/backend/console/\(d.id.raw)/0"
        #expect(try xs.readString(front + "/port") == "\(d.params[HVMParam.consoleEvtchn])")
        #expect(try xs.readString(front + "/ring-ref") == "\(DomainLayout.gfn(of: .console).raw)")
        #expect(try xs.readString(front + "/type") == "xenconsoled")
        #expect(try xs.readString(front + "/limit") == "1048576")
        #expect(try xs.readString(front + "/output") == "pty")
        #expect(try xs.readString(front + "/tty") == "")
        #expect(try xs.readString(front + "/backend") == back)
        #expect(try xs.readString(front + "/backend-id") == "0")
        #expect(try xs.readString(back + "/frontend") == front)
        #expect(try xs.readString(back + "/frontend-id") == "\(d.id.raw)")
        #expect(try xs.readString(back + "/state") == "1")
        #expect(try xs.readString(back + "/protocol") == "vt100")
        let frontPerms = XenStorePermissions(owner: d.id, others: .none, [XenStorePermission(.control, .read)])
        let readOnly = XenStorePermissions(owner: .control, others: .none, [XenStorePermission(d.id, .read)])
        #expect(try xs.permissions(front) == frontPerms)
        #expect(try xs.permissions(front + "/backend-id") == frontPerms)
        #expect(try xs.permissions(front + "/port") == readOnly)
        #expect(try xs.permissions(back) == readOnly)
    }

    @Test func detachRemovesTheDomainsNodesWatchesAndHandler() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain(), other = try w.domain("other")
        let xs = w.xenstored
        let g = GuestXenStoreSide(domain: d)
        // The guest leaves a watch and a node of its own behind.
        #expect(try g.exchange(XenStoreMessage(.watch, requestID: 1, strings: ["data", "t"]), expecting: 2).count == 2)
        // The watch event for the write may come before its reply, as from Xen's xenstored.
        let written = try g.exchange(XenStoreMessage(.write, requestID: 2, payload: Array("data/x\0v".utf8)), expecting: 2)
        #expect(written.count == 2 && Set(written.compactMap(\.type)) == [.write, .watchEvent])
        let vm = try xs.readString(XenStored.domainPath(d.id) + "/vm")

        DomainDevices.detachXenStore(from: d, xenstored: xs)
        #expect(!xs.isDomainIntroduced(d.id))
        #expect(!xs.exists(XenStored.domainPath(d.id)))
        #expect(!xs.exists(vm))
        #expect(!xs.exists(DomainDevices.consoleBackendPath(d.id)))
        #expect(d.eventChannels.backends.count == 0)
        // A later signal from the guest reaches nobody.
        try g.signal()
        // Detaching twice is harmless; the other domain is untouched.
        DomainDevices.detachXenStore(from: d, xenstored: xs)
        #expect(xs.isDomainIntroduced(other.id))
        #expect(try xs.readString(XenStored.domainPath(other.id) + "/name") == "other")
    }

    /// A new domain that reuses the id of one never detached gets its own ring and nodes.
    @Test func aReusedDomainIDStartsAfresh() throws {
        let first = XenStoreTestWorld()
        defer { first.close() }
        let old = try first.domain("old")
        let oldSide = GuestXenStoreSide(domain: old)
        _ = try oldSide.exchange(XenStoreMessage(.write, requestID: 1, payload: Array("data/left\0over".utf8)))
        let oldVM = try first.xenstored.readString(XenStored.domainPath(old.id) + "/vm")
        try first.xenstored.write(XenStored.domainPath(old.id) + "/cpu/7/availability", "online")
        // Another hypervisor on the same xenstored hands out the same id.
        let second = XenStoreTestWorld(xenstored: first.xenstored)
        defer { second.close() }
        let new = try second.domain("new")
        #expect(new.id == old.id)
        let g = GuestXenStoreSide(domain: new)
        #expect(try g.exchange(XenStoreMessage(.read, requestID: 2, strings: ["name"])).first?.payload == Array("new".utf8))
        let gone = try g.exchange(XenStoreMessage(.read, requestID: 3, strings: ["data/left"]))
        #expect(gone.first?.type == .error)
        #expect(gone.first?.stringValues == ["ENOENT"])
        // Nothing of the old domain's is left: its /vm entry, nodes only it had.
        #expect(!first.xenstored.exists(oldVM))
        #expect(!first.xenstored.exists(XenStored.domainPath(new.id) + "/cpu/7"))
        #expect(first.xenstored.exists(try first.xenstored.readString(XenStored.domainPath(new.id) + "/vm")))
        // The old domain's ring is no longer served.
        #expect(try oldSide.exchange(XenStoreMessage(.read, requestID: 4, strings: ["name"])).isEmpty)
    }

    /// xl's `shutdown`: the request lands in control/shutdown, where a guest watching it hears
    /// it over its ring; clearing the node is the acknowledgement.
    @Test func shutdownRequestReachesAGuestWatch() throws {
        let w = XenStoreTestWorld()
        defer { w.close() }
        let d = try w.domain()
        let xs = w.xenstored
        let g = GuestXenStoreSide(domain: d)
        let first = try g.exchange(XenStoreMessage(.watch, requestID: 1, strings: ["control/shutdown", "sd"]), expecting: 2)
        #expect(first.map(\.type) == [.watch, .watchEvent])
        #expect(DomainDevices.shutdownRequestAcknowledged(of: d.id, xenstored: xs))

        for request in PVControlRequest.allCases {
            try DomainDevices.requestShutdown(of: d.id, request, xenstored: xs)
            #expect(try xs.readString(XenStored.domainPath(d.id) + "/control/shutdown") == request.rawValue)
            #expect(!DomainDevices.shutdownRequestAcknowledged(of: d.id, xenstored: xs))
            var reader = XenStoreFrameReader()
            reader.append(try g.read())
            guard case .message(let event)? = reader.next() else {
                Issue.record("no watch event for \(request)")
                return
            }
            #expect(event.type == .watchEvent)
            #expect(event.stringValues == ["control/shutdown", "sd"])
            // The guest acknowledges as Linux does.
            let ack = try g.exchange(XenStoreMessage(.write, requestID: 9, payload: Array("control/shutdown\0".utf8)),
                                     expecting: 2)
            #expect(ack.contains { $0.type == .write })
            #expect(DomainDevices.shutdownRequestAcknowledged(of: d.id, xenstored: xs))
        }
    }

    @Test func shutdownRequestForADomainWithoutAHomeIsENOENT() throws {
        let xs = XenStored()
        #expect(throws: XenStoreError.ENOENT) { try DomainDevices.requestShutdown(of: DomainID(42), .poweroff, xenstored: xs) }
        #expect(!xs.exists("/local/domain/42"))
    }

    @Test func testShutdownHookParsesItsVariable() {
        #expect(TestShutdownHook("250") == TestShutdownHook(delay: 250, .poweroff))
        #expect(TestShutdownHook("0:reboot") == TestShutdownHook(delay: 0, .reboot))
        #expect(TestShutdownHook("10:suspend") == TestShutdownHook(delay: 10, .suspend))
        for bad in ["", "x", "-1", "10:", "10:halt", "10:reboot:1", "99999999999"] {
            #expect(TestShutdownHook(bad) == nil, "\(bad)")
        }
    }

    @Test func uuidsArePrintedAsLibxlDoes() {
        let handle: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]
        #expect(DomainDevices.uuidString(handle) == "00112233-4455-6677-8899-aabbccddeeff")
    }
}

extension TestShutdownHook {
    init(delay: UInt64, _ request: PVControlRequest) {
        self.init("\(delay):\(request.rawValue)")!
    }
}
