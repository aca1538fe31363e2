// Per-vCPU data without a heap: PETREL_PERCPU_SIZE bytes per vCPU in Boot/smp.S
// (.noinit; Events.start clears it). Fields other vCPUs or the upcall handler
// touch are read and written with the one-instruction accessors of Atomics.swift.

struct PerCPU {
    static let count = Int(PETREL_MAX_CPUS)
    static let size = Int(PETREL_PERCPU_SIZE)

    /// 64-bit fields (byte offsets).
    enum Field: Int {
        case vcpuInfo = 0       // address of this vCPU's vcpu_info
        case online = 8         // set by the AP once it runs Swift code
        case upcalls = 16       // upcalls taken
        case unhandled = 24     // pending ports owned here with no handler
        // 32: timer port (u32), 36: IPI port (u32)
        case timerEvents = 40   // VIRQ_TIMER events (Timer.standardHandler)
        case timerLast = 48     // pvclock at the last one
        case heartbeat = 56     // incremented by AP busy loops
        case work = 64          // APWork to run once up (function address)
        case stop = 72          // asks an AP busy loop to return
        case contextCheck = 80  // AP: mismatches against its vcpu_hvm_context (bit mask)
        case ipiEvents = 88     // IPI events (SMP.ipiHandler)
        case workDone = 96      // AP: work finished
        case scratch = 104      // 6 words for tests
    }
    static let timerPortOffset = 32
    static let ipiPortOffset = 36
    static let scratchWords = 6
    /// Room for a vcpu_runstate_info (VCPUOP_register_runstate_memory_area).
    static let runstateOffset = 152

    let index: Int

    init(_ index: Int) {
        precondition(index >= 0 && index < PerCPU.count)
        self.index = index
    }

    static var current: PerCPU { PerCPU(CPU.index) }

    var region: PhysRegion {
        PhysRegion(base: petrel_percpu_address() + UInt64(index * PerCPU.size), size: PerCPU.size)
    }

    func get(_ field: Field) -> UInt64 { region.load64(field.rawValue) }
    func set(_ field: Field, _ value: UInt64) { region.store64(field.rawValue, value) }
    @discardableResult
    func add(_ field: Field, _ delta: UInt64 = 1) -> UInt64 { region.fetchAdd64(field.rawValue, delta) }

    func scratch(_ i: Int) -> UInt64 {
        precondition(i >= 0 && i < PerCPU.scratchWords)
        return region.load64(Field.scratch.rawValue + 8 * i)
    }
    func setScratch(_ i: Int, _ value: UInt64) {
        precondition(i >= 0 && i < PerCPU.scratchWords)
        region.store64(Field.scratch.rawValue + 8 * i, value)
    }

    var timerPort: UInt32 {
        get { region.load32(PerCPU.timerPortOffset) }
        nonmutating set { region.store32(PerCPU.timerPortOffset, newValue) }
    }
    var ipiPort: UInt32 {
        get { region.load32(PerCPU.ipiPortOffset) }
        nonmutating set { region.store32(PerCPU.ipiPortOffset, newValue) }
    }

    /// This vCPU's vcpu_info (shared_info slot or the area registered for it).
    var vcpuInfo: PhysRegion {
        let address = get(.vcpuInfo)
        precondition(address != 0, "vcpu_info not set up (Events.start)")
        return PhysRegion(base: address, size: Int(PETREL_VCPU_INFO_SIZE))
    }

    var runstateArea: PhysRegion { region.sub(PerCPU.runstateOffset, Int(PETREL_RUNSTATE_SIZE)) }

    static var area: PhysRegion { PhysRegion(base: petrel_percpu_address(), size: count * size) }
}
