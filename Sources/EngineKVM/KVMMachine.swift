import CKVM
import GuestMemory
import HostOS
import Hypervisor
import Synchronization
import SystemPackage
import XenABI

/// A domain's KVM VM: the VM fd, its memory slots (kept in step with the domain's
/// `GuestPhysicalMemory`), and one `KVMVCPU` per vCPU.
///
/// Locking: `slots` is a mutex; each vCPU's run loop is confined to its own thread.
final class KVMMachine: Machine, @unchecked Sendable {
    let system: KVMSystem
    let vmFD: FileDescriptor
    let domain: Domain
    private(set) var vcpus: [KVMVCPU] = []
    /// Memory slots by the GPA their region starts at (a list: a VM has a few dozen at most,
    /// and a dictionary's first instantiation costs a runtime metadata lookup on every boot).
    private let slots = Mutex<(byStart: [(start: UInt64, slot: UInt32)], free: [UInt32], next: UInt32)>(([], [], 0))
    private let destroyed = Atomic<Bool>(false)
    private var regionObserver: GuestPhysicalMemory.ObserverToken?
    /// Guest TSC minus host TSC (measured once; KVM keeps a VM's vCPUs in sync).
    private(set) var tscOffset: Int64 = 0
    let counterFrequency: UInt64

    init(system: KVMSystem, domain: Domain) throws(KVMError) {
        self.system = system
        self.domain = domain
        let raw = ckvm_ioctl_val(system.fd.rawValue, ckvm_KVM_CREATE_VM(), 0)
        guard raw >= 0 else { throw .ioctl("KVM_CREATE_VM", HostError("ioctl", Host.lastErrno)) }
        vmFD = FileDescriptor(rawValue: raw)
        do { counterFrequency = try KVMSystem.tscKHz(vm: vmFD) * 1000 } catch {
            try? vmFD.close()
            throw error
        }
        do {
            // Writes of the hypercall MSR must reach us, not KVM's Hyper-V emulation.
            guard ckvm_enable_cap(vmFD.rawValue, UInt32(CKVM_CAP_X86_USER_SPACE_MSR),
                                  UInt64(CKVM_MSR_EXIT_REASON_FILTER)) == 0 else {
                throw KVMError.ioctl("KVM_ENABLE_CAP(X86_USER_SPACE_MSR)", HostError("ioctl", Host.lastErrno))
            }
            guard ckvm_set_msr_write_filter(vmFD.rawValue, XenHypercallMSR.index, 0x100) == 0 else {
                throw KVMError.ioctl("KVM_X86_SET_MSR_FILTER", HostError("ioctl", Host.lastErrno))
            }
            // Needed by VMX for real-mode emulation; harmless elsewhere.
            _ = ckvm_ioctl_val(vmFD.rawValue, ckvm_KVM_SET_TSS_ADDR(), 0xFFFB_D000)
            // Weak: the domain's memory outlives this machine once it is destroyed.
            regionObserver = try domain.memory.observeRegions { [weak self] change in try self?.apply(change) }
            for v in domain.vcpus {
                vcpus.append(try KVMVCPU(vmFD: vmFD, system: system, vcpu: v, domain: domain))
            }
            tscOffset = vcpus[0].measureTSCOffset()
        } catch let e as KVMError {
            try? vmFD.close()
            throw e
        } catch {
            try? vmFD.close()
            throw .ioctl("set up VM", HostError("setup", .ioError))
        }
    }

    deinit { try? vmFD.close() }

    /// Mirrors a guest-physical region change as a KVM memory slot. A read-only region gets a
    /// `KVM_MEM_READONLY` slot: the guest's writes to it exit as MMIO writes, which the run
    /// loop discards (`ExitPolicy`); without `KVM_CAP_READONLY_MEM` it cannot be mapped.
    private func apply(_ change: GuestPhysicalMemory.Change) throws(KVMError) {
        var region = kvm_userspace_memory_region()
        switch change {
        case .added(let r):
            if r.readonly {
                guard system.readOnlyMemory else { throw .missingCapability("KVM_CAP_READONLY_MEM") }
                region.flags = UInt32(CKVM_MEM_READONLY)
            }
            region.slot = slots.withLock { s -> UInt32 in
                let slot = s.free.popLast() ?? { s.next += 1; return s.next - 1 }()
                s.byStart.append((r.start.raw, slot))
                return slot
            }
            region.guest_phys_addr = r.start.raw
            region.memory_size = r.size
            region.userspace_addr = r.hostAddress
        case .removed(let r):
            let slot = slots.withLock { s -> UInt32? in
                guard let i = s.byStart.firstIndex(where: { $0.start == r.start.raw }) else { return nil }
                return s.byStart.remove(at: i).slot
            }
            guard let slot else { return }
            region.slot = slot
            region.guest_phys_addr = r.start.raw
            region.memory_size = 0
        }
        guard ckvm_ioctl_ptr(vmFD.rawValue, ckvm_KVM_SET_USER_MEMORY_REGION(), &region) == 0 else {
            let error = HostError("ioctl", Host.lastErrno)
            // A slot that was not created goes back to the free list.
            if case .added(let r) = change {
                slots.withLock { s in
                    s.byStart.removeAll { $0.start == r.start.raw }
                    s.free.append(region.slot)
                }
            }
            throw .ioctl("KVM_SET_USER_MEMORY_REGION", error)
        }
        if case .removed = change { slots.withLock { $0.free.append(region.slot) } }
    }

    /// Whether the guest's writes at `gpa` are discarded: it lies in a read-only region
    /// (Xen's `p2m_is_discard_write`).
    func discardsWrites(at gpa: UInt64) -> Bool {
        domain.memory.region(containing: GPA(gpa))?.readonly ?? false
    }

    // MARK: Machine

    func start(vcpu id: VCPUID, state: VCPUStartState) throws {
        guard Int(id.raw) < vcpus.count else { throw KVMError.ioctl("start vCPU", HostError("start", .invalidArgument)) }
        let v = vcpus[Int(id.raw)]
        switch state {
        case .boot(let boot): try v.setPVHBootState(boot)
        case .x86(let regs): try v.setRegisterState(regs)
        }
        // The thread starts on the vCPU's effective affinity (the hypervisor hands it over
        // through setAffinity, in step with pCPUs going offline).
        try domain.hypervisor.placeVCPU(domain.vcpus[Int(id.raw)])
        domain.vcpus[Int(id.raw)].markUp(now: domain.systemTimeNow)
        try v.start { [self] in KVMRunLoop(machine: self, vcpu: v).run() }
    }

    func setAffinity(vcpu id: VCPUID, hostCPUs: [Int]) throws {
        guard Int(id.raw) < vcpus.count else { throw KVMError.ioctl("set affinity", HostError("affinity", .invalidArgument)) }
        try vcpus[Int(id.raw)].setAffinity(hostCPUs)
    }

    func hostThread(vcpu id: VCPUID) -> VCPUHostThread? {
        guard Int(id.raw) < vcpus.count else { return nil }
        return vcpus[Int(id.raw)].hostThread
    }

    func block(vcpu id: VCPUID, until deadline: UInt64?) {
        guard Int(id.raw) < vcpus.count else { return }
        vcpus[Int(id.raw)].park(until: deadline)
    }

    func timestamp() -> GuestTimestamp {
        let t0 = ckvm_rdtsc()
        let ns = Host.monotonicNanoseconds()
        let t1 = ckvm_rdtsc()
        let host = t0 / 2 + t1 / 2
        return GuestTimestamp(counter: UInt64(bitPattern: Int64(bitPattern: host) &+ tscOffset), monotonicNanoseconds: ns)
    }

    func kick(vcpu id: VCPUID) {
        guard Int(id.raw) < vcpus.count else { return }
        vcpus[Int(id.raw)].kick()
    }

    func join() {
        for v in vcpus { v.join() }
    }

    func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !domain.isShutDown { domain.shutdown(code: UInt8(ShutdownReason.poweroff.rawValue)) }
        for v in vcpus { v.kick() }
        join()
        if let regionObserver { domain.memory.stopObserving(regionObserver) }
    }
}

/// The KVM engine: creates a `KVMMachine` per domain.
public final class KVMEngine: Engine {
    public let system: KVMSystem
    public var name: String { "kvm" }
    public var arch: GuestArch { .x86_64 }

    public init(devicePath: String = KVMSystem.devicePath) throws(KVMError) {
        system = try KVMSystem(path: devicePath)
    }

    public func createMachine(for domain: Domain) throws -> any Machine {
        guard domain.config.vcpus <= system.maxVCPUs else {
            throw KVMError.ioctl("create \(domain.config.vcpus) vCPUs", HostError("limit", .invalidArgument))
        }
        let m = try KVMMachine(system: system, domain: domain)
        domain.machine = m
        return m
    }

    /// The TSC frequency KVM runs guests at, in kHz (for turning guest cycle counts into time).
    public func tscKHz(of machine: any Machine) -> UInt64? {
        guard let m = machine as? KVMMachine, let v = m.vcpus.first else { return nil }
        let khz = ckvm_ioctl_val(v.fd.rawValue, ckvm_KVM_GET_TSC_KHZ(), 0)
        return khz > 0 ? UInt64(khz) : nil
    }
}
