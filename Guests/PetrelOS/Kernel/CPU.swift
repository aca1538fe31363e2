// The running vCPU: interrupt flag, idling, spin hints. PetrelOS takes no interrupt
// but Xen's event-channel upcall, and runs with IF clear except where a driver or
// test enables it (Wait.spin, the idle loops, the block/poll window).

enum CPU {
    /// Index of the vCPU running this code (from its stack; see Boot/smp.S).
    static var index: Int { Int(petrel_cpu_index()) }

    static var interruptsEnabled: Bool { petrel_interrupts_enabled() }

    static func enableInterrupts() { petrel_sti() }
    static func disableInterrupts() { petrel_cli() }

    /// With IF clear: `sti; hlt` (atomic), handle the upcall, return with IF clear.
    static func waitForInterrupt() { petrel_wait_for_interrupt() }

    static func pause() { petrel_pause() }

    /// Runs `body` with IF clear, then restores the previous state.
    @inline(__always)
    static func withInterruptsDisabled<R>(_ body: () -> R) -> R {
        let wasEnabled = interruptsEnabled
        disableInterrupts()
        let result = body()
        if wasEnabled { enableInterrupts() }
        return result
    }
}

/// Waiting for something an upcall or another vCPU does, with a pvclock deadline.
enum Wait {
    /// Spins with interrupts enabled until `done()` holds or the pvclock reaches
    /// `deadline` (ns). Returns whether `done()` held. Restores the interrupt flag.
    static func spin(until deadline: UInt64, _ done: () -> Bool) -> Bool {
        let wasEnabled = CPU.interruptsEnabled
        CPU.enableInterrupts()
        var result = false
        var spins: UInt32 = 0
        while true {
            if done() { result = true; break }
            // Reading the clock costs more than the check: look at it every 16 spins.
            spins &+= 1
            if spins & 15 == 0 && Clock.now() >= deadline { result = done(); break }
            CPU.pause()
        }
        if !wasEnabled { CPU.disableInterrupts() }
        return result
    }

    /// `spin(until: now + ns)`.
    static func spin(ns: UInt64, _ done: () -> Bool) -> Bool {
        spin(until: Clock.now() &+ ns, done)
    }

    /// Spins for `ns` with interrupts enabled (events are handled meanwhile).
    static func delay(ns: UInt64) {
        _ = spin(ns: ns) { false }
    }
}

let nsPerMs: UInt64 = 1_000_000
let nsPerSec: UInt64 = 1_000_000_000
