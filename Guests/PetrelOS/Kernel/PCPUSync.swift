// Enumeration and resync of the pCPU list (PCPU.swift), as Linux's drivers/xen/pcpu.c
// xen_sync_pcpus, with what it leaves out:
//
//  - XENPF_get_cpuinfo for index 0, 1, … up to max_present, re-read from every reply: CPUs
//    hot-added during the scan raise max_present and are scanned too; a shrinking
//    max_present ends the scan early. XEN_PCPU_FLAGS_INVALID entries (holes: not present)
//    are skipped. Indexes past the final max_present that were present are removed (Linux
//    never looks at them again).
//  - The scan fills the spare table; only a complete scan becomes current. A failure (EPERM
//    for an unprivileged guest, ENOSPC for a machine larger than the table) changes nothing
//    and is returned; the VIRQ's pending count is kept, so a later sync retries.
//  - Old and new tables are compared per index: added, online, offline, removed (in that
//    order per CPU). A present CPU whose known APIC or ACPI id changed is another CPU:
//    removed, then added. An id that was unknown (~0) and became known is an update.
//  - VIRQ_PCPU_STATE (global, so bound on vCPU 0) only counts events and stamps the first
//    one; the work happens in `sync`, outside the upcall, as Linux defers it to a work item.

extension PCPU {
    /// Counts an event for the next sync (runs in the upcall on vCPU 0).
    static let virqHandler: EventHandler = { _ in
        let a = PCPU.area
        if a.fetchAdd64(Field.pending.rawValue, 1) == 0 { a.store64(Field.eventAt.rawValue, Clock.now()) }
    }

    /// The VIRQ_PCPU_STATE port, nil if not bound.
    static var port: UInt32? {
        guard initialized else { return nil }
        let p = area.load32(Field.port.rawValue)
        return p == 0 ? nil : p
    }

    /// Binds VIRQ_PCPU_STATE (first, so a change during the first scan is not lost) and
    /// enumerates. A failed enumeration unbinds again and returns its error (EPERM for a
    /// guest that is not privileged). Idempotent once started.
    static func start() throws(PCPUError) {
        initializeIfNeeded()
        if port == nil {
            let (rc, p) = EventChannel.bindVirq(UInt32(VIRQ_PCPU_STATE), vcpu: 0)
            if rc != 0 { throw PCPUError(rc: rc) }
            area.store32(Field.port.rawValue, p)
            Events.bind(p, cpu: 0, virqHandler)
        }
        do {
            try sync()
        } catch {
            stop()
            throw error
        }
    }

    /// Unbinds the VIRQ (EVTCHNOP_close); the list stays as it was.
    static func stop() {
        guard let p = port else { return }
        Events.unbind(p)
        _ = EventChannel.close(p)
        area.store32(Field.port.rawValue, 0)
    }

    /// Enumerates every pCPU and makes the result the guest's list, telling subscribers of
    /// each change. Returns the number of changes. Call it with interrupts as you like; the
    /// pending count is taken with them disabled.
    @discardableResult
    static func sync() throws(PCPUError) -> Int {
        initializeIfNeeded()
        let (events, eventAt) = CPU.withInterruptsDisabled { () -> (UInt64, UInt64) in
            (area.exchange64(Field.pending.rawValue, 0), area.load64(Field.eventAt.rawValue))
        }
        let spare = area.load32(Field.current.rawValue) ^ 1
        let maxPresent: UInt32
        do {
            maxPresent = try scan(into: table(spare))
        } catch {
            if events > 0 { area.fetchAdd64(Field.pending.rawValue, events) }
            throw error
        }
        let oldKnown = Int(area.load32(Field.known.rawValue))
        let old = current
        area.store32(Field.current.rawValue, spare)
        area.store32(Field.known.rawValue, maxPresent + 1)
        area.store32(Field.maxPresent.rawValue, maxPresent)
        let changes = diff(old: old, oldKnown: oldKnown, new: table(spare), newKnown: Int(maxPresent) + 1)
        area.store64(Field.lastEventAt.rawValue, events > 0 ? eventAt : 0)
        area.fetchAdd64(Field.generation.rawValue, 1)
        return changes
    }

    /// Reads every pCPU into `t` (each index up to the result is written, holes as not
    /// present; nothing past it is touched: guest memory writes are dear on some hosts);
    /// returns the final max_present.
    private static func scan(into t: PhysRegion) throws(PCPUError) -> UInt32 {
        var i: UInt32 = 0
        var last: UInt32 = 0
        repeat {
            let (rc, info) = PlatformOp.getCPUInfo(i)
            if rc != 0 { throw PCPUError(rc: rc) }
            last = info.max_present
            guard Int(last) < capacity else { throw .ENOSPC }
            let o = Int(i) * entrySize
            if info.flags & UInt32(XEN_PCPU_FLAGS_INVALID) == 0 {
                let online = info.flags & UInt32(XEN_PCPU_FLAGS_ONLINE) != 0
                t.store32(o + stateOffset, present | (online ? onlineBit : 0))
                t.store32(o + apicOffset, info.apic_id)
                t.store32(o + acpiOffset, info.acpi_id)
            } else {
                t.store32(o + stateOffset, 0)
                t.store32(o + apicOffset, unknownID)
                t.store32(o + acpiOffset, unknownID)
            }
            i += 1
        } while i <= last
        return last
    }

    /// Tells subscribers what differs between the tables; returns how many changes.
    private static func diff(old: PhysRegion, oldKnown: Int, new: PhysRegion, newKnown: Int) -> Int {
        var changes = 0
        func tell(_ c: PCPUChange, _ i: Int) {
            changes += 1
            notify(c, i)
        }
        for i in 0..<max(oldKnown, newKnown) {
            let a = i < oldKnown ? entry(old, i) : (state: UInt32(0), apic: unknownID, acpi: unknownID)
            let b = i < newKnown ? entry(new, i) : (state: UInt32(0), apic: unknownID, acpi: unknownID)
            let wasPresent = a.state & present != 0, isPresent = b.state & present != 0
            let wasOnline = wasPresent && a.state & onlineBit != 0
            let isOnline = isPresent && b.state & onlineBit != 0
            let replaced = wasPresent && isPresent && (changed(a.apic, b.apic) || changed(a.acpi, b.acpi))
            if replaced {
                if wasOnline { tell(.offline, i) }
                tell(.removed, i)
                tell(.added, i)
                if isOnline { tell(.online, i) }
                continue
            }
            if !wasPresent && isPresent { tell(.added, i) }
            if !wasOnline && isOnline { tell(.online, i) }
            if wasOnline && !isOnline { tell(.offline, i) }
            if wasPresent && !isPresent { tell(.removed, i) }
        }
        return changes
    }

    /// Both ids known and different.
    private static func changed(_ a: UInt32, _ b: UInt32) -> Bool {
        a != unknownID && b != unknownID && a != b
    }

    /// Waits (SCHEDOP_block) until a VIRQ_PCPU_STATE event is pending or the system time
    /// reaches `deadline` (0: no deadline; otherwise VIRQ_TIMER must be bound on this vCPU).
    /// Returns whether an event is pending. Call it on vCPU 0 (where the VIRQ is delivered).
    static func waitForChange(until deadline: UInt64) -> Bool {
        CPU.withInterruptsDisabled {
            while pending == 0 {
                if deadline != 0 {
                    if Clock.now() >= deadline { return false }
                    _ = Timer.setSingleshot(deadline)
                }
                Sched.block()
            }
            return true
        }
    }
}
