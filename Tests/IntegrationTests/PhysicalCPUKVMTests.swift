import EngineKVM
import GuestMemory
import HostOS
import Hypervisor
import Testing
import Toolstack
import XenABI

/// Physical-CPU management on real vCPU threads: a guest spins in `jmp $` on KVM while pCPUs
/// go offline and online and the vCPU is pinned; the host's own view of the thread
/// (/proc/self/task/TID) must follow.
extension KVMIntegration {
    @Suite(.enabled(if: Env.kvmAvailable && Host.onlineCPUCount >= 2, "needs /dev/kvm and two host CPUs"))
    struct PhysicalCPUKVMTests {
        @Test func offlineMovesARunningVCPUThreadAndPinsFollow() throws {
            let engine = try KVMEngine()
            let hypervisor = Hypervisor(services: HostOSServices())
            let table = hypervisor.physicalCPUs
            let online = table.online
            try #require(online.count >= 2)
            let d = try hypervisor.createDomain(DomainConfig(name: "spin", memoryBytes: 2 << 20))
            defer { hypervisor.removeDomain(d.id) }
            _ = try d.memory.addRegion(at: GPA(0), size: 2 << 20, kind: .ram)
            try d.memory.write([0xEB, 0xFE], at: GPA(0x1000))  // jmp $
            let m = try engine.createMachine(for: d)
            defer {
                m.destroy()
                d.machine = nil
            }
            try m.start(vcpu: VCPUID(0), state: .boot(BootState(entry: 0x1000, bootParameter: 0)))
            var thread: VCPUHostThread?
            for _ in 0..<2000 where thread == nil {
                thread = m.hostThread(vcpu: VCPUID(0))
                if thread == nil { usleepMillis(1) }
            }
            let tid = try #require(thread?.tid)
            let hostOnline = online.map(\.hostIndex)
            #expect(try HostCPUAffinity.allowedCPUs(thread: tid) == hostOnline)

            // Offline the last online pCPU: the thread is off it when the call returns.
            let victim = try #require(online.last)
            try table.offline(victim.id)
            defer { try? table.online(victim.id) }
            let rest = hostOnline.filter { $0 != victim.hostIndex }
            #expect(try HostCPUAffinity.allowedCPUs(thread: tid) == rest)
            #expect(try HostCPUAffinity.currentCPU(thread: tid) != victim.hostIndex)
            #expect(hypervisor.vcpuPlacements().first?.effective == rest.map { PCPUID(UInt32($0)) })

            // Pin to CPU 0: the running thread moves there at once.
            #expect(try hypervisor.setHardAffinity(.only([PCPUID(0)]), domain: d.id, vcpu: VCPUID(0)) == [PCPUID(0)])
            #expect(try HostCPUAffinity.allowedCPUs(thread: tid) == [0])
            #expect(try HostCPUAffinity.currentCPU(thread: tid) == 0)
            let usage = hypervisor.physicalCPUUsage()
            #expect(usage.first { $0.cpu.id == PCPUID(0) }?.running.map(\.vcpu) == [VCPUID(0)])

            // Pin to the offline CPU alone: refused, nothing moves.
            #expect(throws: XenErrno.EINVAL) {
                try hypervisor.setHardAffinity(.only([victim.id]), domain: d.id, vcpu: VCPUID(0))
            }
            #expect(try HostCPUAffinity.allowedCPUs(thread: tid) == [0])

            // Back online and unpinned: every CPU again.
            try table.online(victim.id)
            try hypervisor.setHardAffinity(.all, domain: d.id, vcpu: VCPUID(0))
            #expect(try HostCPUAffinity.allowedCPUs(thread: tid) == hostOnline)
            #expect(m.hostThread(vcpu: VCPUID(0))?.allowedHostCPUs == hostOnline)
        }
    }
}

private func usleepMillis(_ ms: UInt64) {
    let end = Host.monotonicNanoseconds() + ms * 1_000_000
    let p = Parker()
    p.park(until: end)
}
