import GuestMemory
import XenABI

/// What an event-channel ABI keeps in guest memory and how it marks a port (Xen's
/// `struct evtchn_port_ops`). The 2-level ABI is the one implementation; FIFO would be another.
///
/// `setPending` is split in two where Xen does it in one go: the port's bit is set with the
/// port's table locked (so a concurrent close cannot leave a stale bit on a freed port), and
/// the vCPU is told (`notify`) after the lock is dropped, so vcpu_info and kicks never nest in
/// a table lock. The bit order the guest relies on (pending, then selector, then
/// upcall_pending) is kept.
protocol EventChannelPortOps: Sendable {
    /// Ports the ABI can name.
    var maxPorts: Int { get }
    /// Sets `port` pending. Table locked.
    func setPending(_ port: EvtchnPort, in domain: Domain) -> PendingResult
    /// Second half of set_pending and of unmask: the port's word in `vcpu`'s selector, and the
    /// upcall if that word was new. No table lock held.
    func notify(_ vcpu: VCPU, of port: EvtchnPort)
    func clearPending(_ port: EvtchnPort, in domain: Domain)
    /// Clears the mask bit; true if the port was masked and is pending, i.e. its notify vCPU
    /// must now be told (Xen re-delivers on unmask).
    func unmask(_ port: EvtchnPort, in domain: Domain) -> Bool
    /// nil when the domain has no shared_info yet.
    func isPending(_ port: EvtchnPort, in domain: Domain) -> Bool?
    func isMasked(_ port: EvtchnPort, in domain: Domain) -> Bool?
}

enum PendingResult: Equatable {
    /// No shared_info to mark: the caller records the port to apply later.
    case noSharedInfo
    /// It was pending already: nothing more to do (no notify, no pollers).
    case alreadyPending
    /// Newly pending; `notify` is due unless the port is masked. Pollers are woken either way.
    case raised(masked: Bool)
}

/// The 2-level ABI (xen/common/event_2l.c): `evtchn_pending`/`evtchn_mask` bitmaps in
/// shared_info, one selector word per vCPU (`evtchn_pending_sel`), and `evtchn_upcall_pending`.
/// Bits are set with atomic read-modify-writes on the guest's own page, as Xen's
/// `guest_test_and_set_bit`.
struct EventChannel2L: EventChannelPortOps {
    var maxPorts: Int { Evtchn2L.channels }

    /// Where the bitmap word holding `port` is, in shared_info at `base`.
    private func word(_ base: Int, _ port: EvtchnPort, _ si: GPA) -> GPA {
        si.advanced(by: UInt64(base + Int(port.raw) / Evtchn2L.bitsPerWord * 8))
    }

    private func bit(_ port: EvtchnPort) -> UInt64 { 1 << UInt64(port.raw % UInt32(Evtchn2L.bitsPerWord)) }

    private func sharedInfo(_ domain: Domain, _ port: EvtchnPort) -> GPA? {
        guard Int(port.raw) < maxPorts else { return nil }
        return domain.physmap.location(of: .sharedInfo)?.address
    }

    func setPending(_ port: EvtchnPort, in domain: Domain) -> PendingResult {
        guard Int(port.raw) < maxPorts else { return .alreadyPending }
        guard let si = sharedInfo(domain, port) else { return .noSharedInfo }
        let mem = domain.memory
        do {
            let old = try mem.atomicOr(bit(port), at: word(X86SharedInfo.Offset.evtchnPending, port, si))
            if old & bit(port) != 0 { return .alreadyPending }
            let mask = try mem.atomicLoad(UInt64.self, at: word(X86SharedInfo.Offset.evtchnMask, port, si))
            return .raised(masked: mask & bit(port) != 0)
        } catch {
            // shared_info's frame vanished under us (the guest moved it): nothing to mark.
            return .alreadyPending
        }
    }

    func notify(_ vcpu: VCPU, of port: EvtchnPort) {
        // A vCPU with no vcpu_info yet (≥ 32 and none registered) has Xen's dummy one: the
        // port stays pending in shared_info until the guest registers its vcpu_info.
        guard let info = vcpu.vcpuInfo else { return }
        let sel = info.advanced(by: UInt64(X86VCPUInfo.Offset.evtchnPendingSel))
        let selBit: UInt64 = 1 << UInt64(port.raw / UInt32(Evtchn2L.bitsPerWord))
        let mem = vcpu.domain.memory
        let old: UInt64
        do {
            old = try mem.atomicOr(selBit, at: sel)
        } catch {
            // A registered vcpu_info that is not 8-byte aligned cannot be updated atomically;
            // a plain read-modify-write still lets the guest find the port.
            guard let v = try? mem.load(UInt64.self, at: sel) else { return }
            try? mem.store(v | selBit, at: sel)
            old = v
        }
        if old & selBit == 0 { vcpu.markEventsPending() }
    }

    func clearPending(_ port: EvtchnPort, in domain: Domain) {
        guard let si = sharedInfo(domain, port) else { return }
        _ = try? domain.memory.atomicAnd(~bit(port), at: word(X86SharedInfo.Offset.evtchnPending, port, si))
    }

    func unmask(_ port: EvtchnPort, in domain: Domain) -> Bool {
        guard let si = sharedInfo(domain, port) else { return false }
        let mem = domain.memory
        guard let old = try? mem.atomicAnd(~bit(port), at: word(X86SharedInfo.Offset.evtchnMask, port, si)),
              old & bit(port) != 0,
              let pending = try? mem.atomicLoad(UInt64.self, at: word(X86SharedInfo.Offset.evtchnPending, port, si))
        else { return false }
        return pending & bit(port) != 0
    }

    func isPending(_ port: EvtchnPort, in domain: Domain) -> Bool? {
        guard Int(port.raw) < maxPorts else { return false }
        guard let si = sharedInfo(domain, port) else { return nil }
        let w = (try? domain.memory.atomicLoad(UInt64.self, at: word(X86SharedInfo.Offset.evtchnPending, port, si))) ?? 0
        return w & bit(port) != 0
    }

    func isMasked(_ port: EvtchnPort, in domain: Domain) -> Bool? {
        // Ports the ABI cannot name read as masked, as in Xen.
        guard Int(port.raw) < maxPorts else { return true }
        guard let si = sharedInfo(domain, port) else { return nil }
        let w = (try? domain.memory.atomicLoad(UInt64.self, at: word(X86SharedInfo.Offset.evtchnMask, port, si))) ?? 0
        return w & bit(port) != 0
    }
}
