// HYPERVISOR_event_channel_op (hypercall 32, xen/event_channel.h): one wrapper per
// EVTCHNOP, named after it. Each returns Xen's result (0 or -errno) and the port
// (or struct) Xen wrote back. Delivery (upcall, bitmaps, handlers) is in Events.swift.

let domidSelf = UInt16(PETREL_DOMID_SELF)

enum EventChannel {
    @inline(__always)
    static func op(_ cmd: Int32, _ arg: UInt64) -> Int64 {
        Xen.call(__HYPERVISOR_event_channel_op, UInt64(UInt32(bitPattern: cmd)), arg)
    }

    /// EVTCHNOP_alloc_unbound: a port in `dom` that `remote` may bind to.
    static func allocUnbound(dom: UInt16 = domidSelf, remote: UInt16 = domidSelf) -> (rc: Int64, port: UInt32) {
        var arg = evtchn_alloc_unbound(dom: dom, remote_dom: remote, port: 0)
        let rc = withGuestAddress(of: &arg) { op(EVTCHNOP_alloc_unbound, $0) }
        return (rc, arg.port)
    }

    /// EVTCHNOP_bind_interdomain: connects a new local port to `remotePort` of `remoteDom`.
    static func bindInterdomain(remoteDom: UInt16 = domidSelf, remotePort: UInt32) -> (rc: Int64, port: UInt32) {
        var arg = evtchn_bind_interdomain(remote_dom: remoteDom, remote_port: remotePort, local_port: 0)
        let rc = withGuestAddress(of: &arg) { op(EVTCHNOP_bind_interdomain, $0) }
        return (rc, arg.local_port)
    }

    /// EVTCHNOP_bind_virq: VIRQ `virq` delivered to `vcpu`.
    static func bindVirq(_ virq: UInt32, vcpu: UInt32) -> (rc: Int64, port: UInt32) {
        var arg = evtchn_bind_virq(virq: virq, vcpu: vcpu, port: 0)
        let rc = withGuestAddress(of: &arg) { op(EVTCHNOP_bind_virq, $0) }
        return (rc, arg.port)
    }

    /// EVTCHNOP_bind_ipi: a port any vCPU may send on, delivered to `vcpu`.
    static func bindIPI(vcpu: UInt32) -> (rc: Int64, port: UInt32) {
        var arg = evtchn_bind_ipi(vcpu: vcpu, port: 0)
        let rc = withGuestAddress(of: &arg) { op(EVTCHNOP_bind_ipi, $0) }
        return (rc, arg.port)
    }

    /// EVTCHNOP_bind_vcpu: deliver `port` to `vcpu` from now on.
    static func bindVcpu(port: UInt32, vcpu: UInt32) -> Int64 {
        var arg = evtchn_bind_vcpu(port: port, vcpu: vcpu)
        return withGuestAddress(of: &arg) { op(EVTCHNOP_bind_vcpu, $0) }
    }

    /// EVTCHNOP_send.
    static func send(_ port: UInt32) -> Int64 { Xen.eventChannelSend(port: port) }

    /// EVTCHNOP_close.
    static func close(_ port: UInt32) -> Int64 {
        var arg = evtchn_close(port: port)
        return withGuestAddress(of: &arg) { op(EVTCHNOP_close, $0) }
    }

    /// EVTCHNOP_status.
    static func status(_ port: UInt32, dom: UInt16 = domidSelf) -> (rc: Int64, status: evtchn_status) {
        var arg = evtchn_status()
        arg.dom = dom
        arg.port = port
        arg.status = 0xffff_ffff
        let rc = withGuestAddress(of: &arg) { op(EVTCHNOP_status, $0) }
        return (rc, arg)
    }

    /// EVTCHNOP_unmask: Xen clears the mask bit and re-delivers a pending event.
    static func unmask(_ port: UInt32) -> Int64 {
        var arg = evtchn_unmask(port: port)
        return withGuestAddress(of: &arg) { op(EVTCHNOP_unmask, $0) }
    }

    /// EVTCHNOP_reset: closes every port of `dom`.
    static func reset(dom: UInt16 = domidSelf) -> Int64 {
        var arg = evtchn_reset(dom: dom)
        return withGuestAddress(of: &arg) { op(EVTCHNOP_reset, $0) }
    }
}
