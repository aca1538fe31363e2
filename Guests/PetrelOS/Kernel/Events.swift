// Event delivery, 2-level ABI (xen.h shared_info/vcpu_info), as Linux's
// drivers/xen/events/events_2l.c does it:
//
//  - Xen sets evtchn_pending[port], and unless evtchn_mask[port] is set, the word's
//    bit in the target vCPU's evtchn_pending_sel and that vCPU's
//    evtchn_upcall_pending; then it injects the HVM_PARAM_CALLBACK_IRQ vector
//    (level-triggered on upcall_pending, whenever IF=1; no LAPIC EOI).
//  - The upcall (Boot/idt.S, upcall_dispatch) clears upcall_pending, exchanges
//    pending_sel with 0, scans pending & ~mask of each selected word, clears each
//    pending bit atomically and calls the handler bound to the port.
//
// Ports are owned by one vCPU (the one Xen notifies: 0 unless bound otherwise), and a
// vCPU handles only its own: pending bits are shared by all vCPUs, and another
// vCPU's event must wait for that vCPU's upcall (Linux's per-cpu evtchn masks).
// The tables (handler per port, owner bitmap per vCPU) are in Boot/smp.S.

typealias EventHandler = @convention(c) (UInt32) -> Void

enum Events {
    /// The upcall vector (HVM_PARAM_CALLBACK_IRQ type 2): above the exceptions and
    /// any legacy IRQ range, as Linux's HYPERVISOR_CALLBACK_VECTOR (0xF3).
    static let vector: UInt64 = 0xF3
    static let maxPorts = Int(PETREL_EVTCHN_PORTS)
    private static let ownerMapBytes = maxPorts / 8

    nonisolated(unsafe) private(set) static var started = false

    private static var handlers: PhysRegion {
        PhysRegion(base: petrel_evtchn_area_address(), size: maxPorts * 8)
    }

    private static func owners(_ cpu: Int) -> PhysRegion {
        PhysRegion(base: petrel_evtchn_area_address() + UInt64(maxPorts * 8 + cpu * ownerMapBytes), size: ownerMapBytes)
    }

    /// Starts the runtime on the boot vCPU: maps shared_info, clears the per-vCPU
    /// area and the dispatcher, masks every port, installs the upcall gate and sets
    /// HVM_PARAM_CALLBACK_IRQ. Interrupts stay disabled. Returns 0 or the failing rc.
    static func start() -> Int64 {
        if started { return 0 }
        let rc = SharedInfo.map()
        if rc != 0 { return rc }

        PerCPU.area.zero()
        PhysRegion(base: petrel_evtchn_area_address(), size: maxPorts * 8 + PerCPU.count * ownerMapBytes).zero()
        // Xen notifies vCPU 0 for every port not bound elsewhere.
        let mine = owners(0)
        for w in 0..<(ownerMapBytes / 8) { mine.store64(8 * w, ~0) }
        PerCPU(0).set(.vcpuInfo, SharedInfo.legacyVcpuInfo(0).base)

        // Linux masks everything at boot and unmasks what it binds.
        let shared = SharedInfo.mapped
        for w in 0..<SharedInfo.words { shared.store64(SharedInfo.maskOffset + 8 * w, ~0) }

        petrel_upcall_set_shared_info(shared.base)
        petrel_idt_set_gate(vector, petrel_upcall_entry_address())
        let callback = (UInt64(PETREL_HVM_PARAM_CALLBACK_TYPE_VECTOR) << 56) | vector
        let rcParam = Xen.hvmSetParam(HVM_PARAM_CALLBACK_IRQ, callback)
        if rcParam != 0 { return rcParam }
        startVCPU()
        started = true
        return 0
    }

    /// Per-vCPU part, on the vCPU itself: clear evtchn_upcall_mask (HVM guests use IF,
    /// but a vcpu_info starts with the mask set).
    static func startVCPU() {
        PerCPU.current.vcpuInfo.store8(Int(PETREL_VCPU_INFO_UPCALL_MASK), 0)
    }

    // MARK: binding

    /// Binds `handler` to `port` on `cpu` (the vCPU Xen notifies for it) and unmasks it.
    /// Returns the EVTCHNOP_unmask result if one was needed, else 0.
    @discardableResult
    static func bind(_ port: UInt32, cpu: Int, _ handler: EventHandler?) -> Int64 {
        guard Int(port) < maxPorts else { return -XenErrno.EINVAL }
        handlers.store64(Int(port) * 8, handler.map { UInt64(UInt(bitPattern: unsafeBitCast($0, to: Int.self))) } ?? 0)
        setOwner(port, cpu: cpu)
        return unmask(port)
    }

    /// Masks `port` and forgets its handler; it goes back to vCPU 0 (Xen's default).
    static func unbind(_ port: UInt32) {
        guard Int(port) < maxPorts else { return }
        mask(port)
        handlers.store64(Int(port) * 8, 0)
        setOwner(port, cpu: 0)
    }

    /// Records that Xen now notifies `cpu` for `port` (after EVTCHNOP_bind_vcpu etc.).
    static func setOwner(_ port: UInt32, cpu: Int) {
        guard Int(port) < maxPorts else { return }
        for c in 0..<PerCPU.count where c != cpu { owners(c).testAndClearBit(0, Int(port)) }
        owners(cpu).testAndSetBit(0, Int(port))
    }

    // MARK: the bitmaps

    static func mask(_ port: UInt32) {
        SharedInfo.mapped.testAndSetBit(SharedInfo.maskOffset, Int(port))
    }

    /// Unmasks `port` the way Linux does for HVM: clear the mask bit; if the port is
    /// already pending, set it again and let EVTCHNOP_unmask clear it, which makes Xen
    /// deliver the pending event (Xen only re-delivers if the mask bit was set).
    @discardableResult
    static func unmask(_ port: UInt32) -> Int64 {
        let shared = SharedInfo.mapped
        shared.testAndClearBit(SharedInfo.maskOffset, Int(port))
        guard shared.testBit(SharedInfo.pendingOffset, Int(port)) else { return 0 }
        shared.testAndSetBit(SharedInfo.maskOffset, Int(port))
        return EventChannel.unmask(port)
    }

    static func isMasked(_ port: UInt32) -> Bool {
        SharedInfo.mapped.testBit(SharedInfo.maskOffset, Int(port))
    }

    static func isPending(_ port: UInt32) -> Bool {
        SharedInfo.mapped.testBit(SharedInfo.pendingOffset, Int(port))
    }

    /// Clears the pending bit; returns whether it was set.
    @discardableResult
    static func clearPending(_ port: UInt32) -> Bool {
        SharedInfo.mapped.testAndClearBit(SharedInfo.pendingOffset, Int(port))
    }

    // MARK: the upcall

    // The upcall itself (clear upcall_pending, take pending_sel, scan pending & ~mask of
    // this vCPU's ports, ack each bit, call its handler) is Boot/idt.S's upcall_dispatch,
    // in assembly: on this host every guest instruction costs about a microsecond, and this
    // path is every event's. It reads the handler table and owner maps above, and counts
    // PerCPU.upcalls / PerCPU.unhandled as this file did.

    /// PerCPU byte offset of the TSC the upcall read on entry (after the runstate area).
    static let upcallTSCOffset = Int(PETREL_PERCPU_UPCALL_TSC)

    /// The TSC read first thing in `cpu`'s last upcall: when the event reached the guest.
    static func upcallTSC(cpu: Int) -> UInt64 {
        PerCPU(cpu).region.load64(upcallTSCOffset)
    }
}
