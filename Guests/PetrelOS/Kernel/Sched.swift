// HYPERVISOR_sched_op (hypercall 29, xen/sched.h): blocking and polling.
//
// An HVM vCPU wakes from SCHEDOP_block/poll when an event is pending *and it can
// take the upcall* (IF=1), so these sleep with IF set. To close the race between
// checking a condition and sleeping, they go through petrel_sched_op_window
// (Boot/idt.S): IF is set only for the hypercall, and an upcall that lands before
// the hypercall traps makes it return 0 at once. Call them with IF clear.

enum Sched {
    /// SCHEDOP_block: sleeps until an event is pending for this vCPU.
    @discardableResult
    static func block() -> Int64 {
        petrel_sched_op_window(UInt64(SCHEDOP_block), 0)
    }

    /// SCHEDOP_poll on `count` ports at `ports`, until one is pending, an event for
    /// this vCPU wakes it, or the system time reaches `timeout` (0 = none).
    /// `window`: sleep with interrupts enabled (else with IF as it is).
    static func poll(ports: UInt64, count: UInt32, timeout: UInt64, window: Bool) -> Int64 {
        var arg = sched_poll(ports: __guest_handle_evtchn_port_t(p: typedHandle(ports)), nr_ports: count, timeout: timeout)
        return withGuestAddress(of: &arg) { address in
            window ? petrel_sched_op_window(UInt64(SCHEDOP_poll), address) : Xen.schedOp(SCHEDOP_poll, address)
        }
    }

    /// SCHEDOP_poll on one port.
    static func poll(port: UInt32, timeout: UInt64, window: Bool) -> Int64 {
        var p = port
        return withGuestAddress(of: &p) { poll(ports: $0, count: 1, timeout: timeout, window: window) }
    }
}

/// A typed XEN_GUEST_HANDLE pointer value (never dereferenced here).
func typedHandle<T>(_ address: UInt64) -> UnsafeMutablePointer<T>? {
    // SAFETY: creating (not dereferencing) a pointer value for an ABI struct field.
    UnsafeMutablePointer<T>(bitPattern: UInt(address))
}
