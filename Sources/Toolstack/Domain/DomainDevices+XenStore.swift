import HostOS
import Hypervisor
import XenABI
import XenStore

/// What xl asks of a guest through `control/shutdown` (`libxl_domain_shutdown`,
/// `libxl_domain_reboot`, the suspend path): the node's value.
public enum PVControlRequest: String, Sendable, CaseIterable {
    case poweroff, reboot, suspend
}

/// The xenstore device: the guest's ring, its event channel, its nodes. These functions are
/// shared by `petrel run` (one domain, a private `XenStored`) and the daemon (many domains, one
/// `XenStored`); they take no lock of their own and may be called for different domains
/// concurrently.
///
/// Threading: after `attachXenStore`, xenstored serves the guest's ring on the thread of the
/// guest's `EVTCHNOP_send` (a vCPU thread, inside the hypercall, no hypervisor lock held), and
/// signals the guest from whichever thread caused a reply or a watch event (a vCPU, the
/// toolstack, another guest's vCPU); `EventChannel.notify` is safe from any of them.
extension DomainDevices {
    /// `LIBXL_XENCONSOLE_LIMIT` and `LIBXL_XENCONSOLE_PROTOCOL`.
    static let consoleLimit = "1048576"
    static let consoleProtocol = "vt100"
    /// `XenbusStateInitialising`.
    static let xenbusStateInitialising = "1"

    /// Connects `domain` to `xenstored` as libxl does when it builds a domain: a backend event
    /// channel (the guest's end is `HVM_PARAM_STORE_EVTCHN`), the zeroed xenstore special page
    /// (`HVM_PARAM_STORE_PFN`), the domain's nodes (`libxl__domain_make`, `libxl__build_post`,
    /// the PV console's `libxl__device_console_add` if `attachConsole` ran first), then
    /// `XS_INTRODUCE` with the ring, and the port's backend handler serving it. On failure the
    /// nodes written so far are removed. A domain with this id still known to xenstored (an
    /// earlier domain never detached) is released first, as Xen's xenstored forgets a domain
    /// once the hypervisor reports it gone: the new domain must not inherit its ring or nodes.
    static func attachXenStore(to domain: Domain, xenstored: XenStored) throws {
        if xenstored.isDomainIntroduced(domain.id) { forgetDomain(domain.id, xenstored: xenstored) }
        let gfn = DomainLayout.gfn(of: .xenstore)
        let port = try domain.eventChannels.allocate(.interdomain(remote: .control, remotePort: EvtchnPort(0)))
        try domain.memory.fill(0, at: gfn.address, count: Int(xenPageSize))
        domain.params[HVMParam.storePFN] = gfn.raw
        domain.params[HVMParam.storeEvtchn] = UInt64(port.raw)
        do {
            try writeDomainNodes(domain, xenstored: xenstored, storeGFN: gfn, storePort: port)
            let ring = GuestXenStoreRing(domain: domain, gfn: gfn, port: port)
            guard let connection = try xenstored.introduceDomain(domain.id, gfn: gfn, port: port, ring: ring) else {
                throw XenStoreError.EIO
            }
            try domain.evtchn.setBackendHandler(port) { [weak connection] in connection?.handleEvent() }
        } catch {
            detachXenStore(from: domain, xenstored: xenstored)
            throw error
        }
    }

    /// Undoes `attachXenStore` as domain destruction does (libxl's `devices_destroy_cb` and
    /// `libxl__destroy_domid`, then xenstored's `domain_cleanup`): the backend handler goes,
    /// xenstored releases the domain (its connection, watches and transactions, the nodes it
    /// owns, `@releaseDomain` fires), and the domain's home, console backend and `/vm` entry are
    /// removed. Best effort: whatever is already gone is skipped.
    static func detachXenStore(from domain: Domain, xenstored: XenStored) {
        let port = EvtchnPort(UInt32(truncatingIfNeeded: domain.params[HVMParam.storeEvtchn]))
        if port.raw != 0 { try? domain.evtchn.setBackendHandler(port, nil) }
        forgetDomain(domain.id, xenstored: xenstored)
    }

    /// xenstored's half of `detachXenStore`: release, then the toolstack's nodes.
    private static func forgetDomain(_ domid: DomainID, xenstored: XenStored) {
        let home = XenStored.domainPath(domid)
        let vm = try? xenstored.readString(home + "/vm")
        try? xenstored.releaseDomain(domid)
        try? xenstored.rm(consoleBackendPath(domid))
        try? xenstored.rm(home)
        if let vm, vm.hasPrefix("/vm/"), vm.count > 4 { try? xenstored.rm(vm) }
    }

    /// `libxl__domain_pvcontrol_write`: asks the guest's PV drivers to shut down by writing
    /// `request` to `/local/domain/<domid>/control/shutdown`; the guest acknowledges by clearing
    /// the node, then shuts itself down. (libxl checks first that the guest has PV drivers; a
    /// PVH guest always counts as having them.) `ENOENT` if the domain has no home.
    static func requestShutdown(of domid: DomainID, _ request: PVControlRequest,
                                xenstored: XenStored) throws(XenStoreError) {
        let home = XenStored.domainPath(domid)
        guard xenstored.exists(home) else { throw .ENOENT }
        try xenstored.write(home + "/control/shutdown", request.rawValue)
    }

    /// True once the guest has acknowledged a shutdown request (cleared `control/shutdown`), as
    /// libxl's `pvcontrol` wait checks; false while the request is still there.
    static func shutdownRequestAcknowledged(of domid: DomainID, xenstored: XenStored) -> Bool {
        let value = try? xenstored.read(XenStored.domainPath(domid) + "/control/shutdown")
        return value?.isEmpty ?? true
    }

    // MARK: Nodes

    static func consoleBackendPath(_ domid: DomainID) -> String {
        XenStored.domainPath(.control) + "/backend/console/\(domid.raw)/0"
    }

    /// The nodes libxl writes for a new PVH domain, beyond `createDomainHome`'s skeleton.
    private static func writeDomainNodes(_ domain: Domain, xenstored xs: XenStored,
                                         storeGFN: GFN, storePort: EvtchnPort) throws {
        let id = domain.id
        let home = XenStored.domainPath(id)
        // Owned by dom0, readable by the domain (libxl's `roperm`).
        let readOnly = XenStorePermissions(owner: .control, others: .none, [XenStorePermission(id, .read)])
        try xs.createDomainHome(id, name: domain.name)

        // libxl__domain_make: the /vm entry and the feature flags of the control directory.
        let vm = "/vm/" + uuidString(domain.config.handle)
        try xs.mkdir(vm)
        try xs.setPermissions(vm, readOnly)
        try xs.write(vm + "/uuid", uuidString(domain.config.handle))
        try xs.write(vm + "/name", domain.name)
        let now = Host.realtimeNanoseconds()
        try xs.write(vm + "/start_time", "\(now / 1_000_000_000).\(twoDigits((now / 10_000_000) % 100))")
        try xs.write(home + "/vm", vm)
        try xs.write(home + "/control/platform-feature-multiprocessor-suspend", "1")
        try xs.write(home + "/control/platform-feature-xs_reset_watches", "1")

        // libxl__build_post (memory in KiB; a PVH guest has no video memory fudge).
        try xs.write(home + "/memory/static-max", String(domain.config.maxMemoryBytes / 1024))
        try xs.write(home + "/memory/target", String(domain.config.memoryBytes / 1024))
        try xs.write(home + "/store/port", String(storePort.raw))
        try xs.write(home + "/store/ring-ref", String(storeGFN.raw))
        for v in domain.vcpus { try xs.write(home + "/cpu/\(v.id.raw)/availability", "online") }

        try writeConsoleNodes(domain, xenstored: xs, readOnly: readOnly)
    }

    /// `libxl__device_console_add` for the primary console (xenconsoled-style, output "pty"),
    /// through `libxl__device_generic_add`: the frontend directory owned by the domain and
    /// readable by the backend (dom0), its read-only entries owned by dom0, and the backend
    /// directory under dom0's home. Nothing if the domain has no PV console.
    private static func writeConsoleNodes(_ domain: Domain, xenstored xs: XenStored,
                                          readOnly: XenStorePermissions) throws {
        let pfn = domain.params[HVMParam.consolePFN]
        let port = domain.params[HVMParam.consoleEvtchn]
        guard pfn != 0, port != 0 else { return }
        let id = domain.id
        let front = XenStored.domainPath(id) + "/console"
        let back = consoleBackendPath(id)
        let frontPerms = XenStorePermissions(owner: id, others: .none, [XenStorePermission(.control, .read)])
        let backPerms = XenStorePermissions(owner: .control, others: .none, [XenStorePermission(id, .read)])

        try? xs.rm(front)
        try xs.mkdir(front)
        try xs.setPermissions(front, frontPerms)
        // Children inherit the directory's permissions.
        try xs.write(front + "/backend", back)
        try xs.write(front + "/backend-id", String(DomainID.control.raw))
        let readOnlyEntries = [("limit", consoleLimit), ("type", "xenconsoled"), ("output", "pty"), ("tty", ""),
                               ("port", String(port)), ("ring-ref", String(pfn))]
        for (key, value) in readOnlyEntries {
            try xs.write(front + "/" + key, value)
            try xs.setPermissions(front + "/" + key, readOnly)
        }

        try? xs.rm(back)
        try xs.mkdir(back)
        try xs.setPermissions(back, backPerms)
        try xs.write(back + "/frontend", front)
        for (key, value) in [("frontend-id", String(id.raw)), ("online", "1"),
                             ("state", xenbusStateInitialising), ("protocol", consoleProtocol)] {
            try xs.write(back + "/" + key, value)
        }
    }

    /// A domain handle as libxl prints a UUID: 8-4-4-4-12 lowercase hex digits.
    static func uuidString(_ handle: [UInt8]) -> String {
        let hex = (0..<16).map { i -> String in
            let b = i < handle.count ? handle[i] : 0
            return String(b >> 4, radix: 16) + String(b & 0xF, radix: 16)
        }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }

    private static func twoDigits(_ n: UInt64) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
