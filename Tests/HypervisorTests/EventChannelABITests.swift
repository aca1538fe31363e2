import Testing
import XenABI

// Sizes and offsets below are what clang reports for /usr/include/xen/event_channel.h on
// x86-64 (offsetof/sizeof); XenABITests' CLayout has no event-channel entries yet.

@Suite struct EventChannelABITests {
    @Test func opStructSizes() {
        #expect(EvtchnAllocUnbound.size == 8)
        #expect(EvtchnBindInterdomain.size == 12)
        #expect(EvtchnBindVIRQ.size == 12)
        #expect(EvtchnBindPIRQ.size == 12)
        #expect(EvtchnBindIPI.size == 8)
        #expect(EvtchnPortArg.size == 4)
        #expect(evtchnSendSize == EvtchnPortArg.size)
        #expect(EvtchnStatus.size == 24)
        #expect(EvtchnBindVCPU.size == 8)
        #expect(EvtchnReset.size == 2)
        #expect(EvtchnFIFO.initControlSize == 24)
        #expect(EvtchnFIFO.expandArraySize == 8)
        #expect(EvtchnFIFO.setPrioritySize == 8)
        #expect(Evtchn2L.channels == 4096)
    }

    @Test func allocUnboundAndInterdomainEncodeAtCOffsets() {
        let a = EvtchnAllocUnbound(dom: DomainID(0x1234), remoteDom: DomainID(0x7FF0), port: EvtchnPort(0xAABB_CCDD))
        #expect(a.bytes == [0x34, 0x12, 0xF0, 0x7F, 0xDD, 0xCC, 0xBB, 0xAA])
        #expect(EvtchnAllocUnbound(bytes: a.bytes) == a)
        let b = EvtchnBindInterdomain(remoteDom: DomainID(7), remotePort: EvtchnPort(9), localPort: EvtchnPort(0x0102_0304))
        #expect(b.bytes == [7, 0, 0, 0, 9, 0, 0, 0, 4, 3, 2, 1])
        #expect(EvtchnBindInterdomain(bytes: b.bytes) == b)
    }

    @Test func bindStructsEncodeAtCOffsets() {
        let v = EvtchnBindVIRQ(virq: .pcpuState, vcpu: VCPUID(3), port: EvtchnPort(5))
        #expect(v.bytes == [9, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0])
        #expect(EvtchnBindVIRQ(bytes: v.bytes) == v)
        let p = EvtchnBindPIRQ(pirq: 1, flags: EvtchnBindPIRQ.willShare, port: EvtchnPort(2))
        #expect(p.bytes == [1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])
        let i = EvtchnBindIPI(vcpu: VCPUID(1), port: EvtchnPort(0x100))
        #expect(i.bytes == [1, 0, 0, 0, 0, 1, 0, 0])
        #expect(EvtchnBindIPI(bytes: i.bytes) == i)
        let c = EvtchnBindVCPU(port: EvtchnPort(4), vcpu: VCPUID(2))
        #expect(c.bytes == [4, 0, 0, 0, 2, 0, 0, 0])
        #expect(EvtchnReset(dom: .domidSelf).bytes == [0xF0, 0x7F])
    }

    @Test(arguments: [
        (EvtchnStatus.Binding.closed, [UInt8](repeating: 0, count: 8)),
        (.unbound(remote: DomainID(0x0203)), [3, 2, 0, 0, 0, 0, 0, 0]),
        (.interdomain(remote: DomainID(5), remotePort: EvtchnPort(0x0607)), [5, 0, 0, 0, 7, 6, 0, 0]),
        (.pirq(0x0A0B), [0x0B, 0x0A, 0, 0, 0, 0, 0, 0]),
        (.virq(.timer), [0, 0, 0, 0, 0, 0, 0, 0]),
        (.virq(.arch(7)), [23, 0, 0, 0, 0, 0, 0, 0]),
        (.ipi, [UInt8](repeating: 0, count: 8)),
    ])
    func statusUnionAtCOffsets(_ binding: EvtchnStatus.Binding, _ union: [UInt8]) {
        let s = EvtchnStatus(dom: DomainID(1), port: EvtchnPort(2), binding: binding, vcpu: VCPUID(3))
        let b = s.bytes
        #expect(Array(b[0..<4]) == [1, 0, 0, 0])
        #expect(Array(b[4..<8]) == [2, 0, 0, 0])
        #expect(b.le(UInt32.self, at: 8) == binding.status.rawValue)
        #expect(b.le(UInt32.self, at: 12) == 3)
        #expect(Array(b[16..<24]) == union)
        #expect(EvtchnStatus(bytes: b) == s)
    }

    @Test func statusNumbers() {
        #expect([EvtchnStat.closed, .unbound, .interdomain, .pirq, .virq, .ipi].map(\.rawValue) == [0, 1, 2, 3, 4, 5])
        var b = [UInt8](repeating: 0, count: 24)
        b.setLE(UInt32(99), at: 8)
        #expect(EvtchnStatus(bytes: b).binding == .closed)
    }

    @Test func virqNumbers() {
        let named: [(VIRQ, UInt32)] = [(.timer, 0), (.debug, 1), (.console, 2), (.domExc, 3), (.tbuf, 4),
                                       (.debugger, 6), (.xenoprof, 7), (.conRing, 8), (.pcpuState, 9),
                                       (.memEvent, 10), (.argo, 11), (.enomem, 12), (.xenpmu, 13)]
        for (v, n) in named { #expect(v.rawValue == n) }
        #expect(VIRQ.arch(0).rawValue == 16 && VIRQ.arch(7).rawValue == 23)
        #expect(VIRQ.count == 24)
        #expect(VIRQ(23).isValid && !VIRQ(24).isValid)
        #expect(VIRQ.timer.description == "VIRQ_TIMER" && VIRQ.arch(2).description == "VIRQ_ARCH_2")
    }

    /// Xen's `virq_is_global`: "V." in xen.h is per-vCPU, everything else global.
    @Test func perVCPUAndGlobalVIRQs() {
        let perVCPU: Set<UInt32> = [0, 1, 7, 13]
        for n in 0..<VIRQ.count {
            #expect(VIRQ(n).isGlobal == !perVCPU.contains(n), "\(VIRQ(n))")
        }
    }
}
