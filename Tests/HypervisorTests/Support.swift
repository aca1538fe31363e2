import GuestMemory
import Hypervisor
import Synchronization
import XenABI

/// A domain with RAM and identity-mapped "virtual" addresses, for calling hypercalls directly.
final class Fixture: Sendable {
    let hypervisor = Hypervisor()
    let domain: Domain
    final class Output: Sendable { let bytes = Mutex<[UInt8]>([]) }
    let output = Output()
    static let ram: UInt64 = 4 << 20
    /// Scratch buffer for hypercall arguments.
    static let scratch = GVA(0x10_0000)
    /// An address with nothing behind it.
    static let bad = GVA(0x7FFF_FFFF_F000)

    init(privileged: Bool = false, vcpus: Int = 1) throws {
        domain = try hypervisor.createDomain(DomainConfig(name: "test", memoryBytes: Self.ram, vcpus: vcpus,
                                                          privileged: privileged))
        try domain.memory.addRegion(at: GPA(0), size: Self.ram, kind: .ram)
        domain.memmap = [HVMMemmapEntry(addr: 0, size: Self.ram, type: .ram)]
        let output = self.output
        domain.console.setSink { bytes in output.bytes.withLock { $0 += bytes } }
    }

    var context: HypercallContext {
        HypercallContext(vcpu: domain.vcpus[0],
                         memory: GuestVirtualMemory(physical: domain.memory, translator: IdentityTranslator()),
                         privilegeLevel: 0)
    }

    var memory: GuestVirtualMemory { context.memory }

    /// Makes a hypercall and returns rax as a signed value.
    @discardableResult
    func call(_ nr: HypercallNumber, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
              cpl: Int = 0) -> Int64 {
        let ctx = HypercallContext(vcpu: domain.vcpus[0], memory: memory, privilegeLevel: cpl)
        return Int64(bitPattern: hypervisor.dispatch(HypercallArgs(number: nr.rawValue, a0, a1, a2), context: ctx))
    }

    func put(_ bytes: [UInt8], at gva: GVA = Fixture.scratch) throws { try memory.copyOut(bytes, to: gva) }
    func get(_ count: Int, at gva: GVA = Fixture.scratch) throws -> [UInt8] { try memory.copyIn(gva, count: count) }

    var consoleText: String { String(decoding: output.bytes.withLock { $0 }, as: UTF8.self) }
}

func errno(_ e: XenErrno) -> Int64 { -Int64(e.rawValue) }
