import HostOS
import Hypervisor
import XenABI
import XenStore

/// The daemon's devices for each domain: xenstore (home nodes, ring), shutdown requests, and
/// console input. Thin: the device code itself is shared with `petrel run`.
enum DaemonDevices {
    static func attachXenStore(to domain: Domain, xenstored: XenStored) throws {
        try DomainDevices.attachXenStore(to: domain, xenstored: xenstored)
    }

    static func detachXenStore(from domain: Domain, xenstored: XenStored) {
        DomainDevices.detachXenStore(from: domain, xenstored: xenstored)
    }

    /// xl's `libxl__domain_pvcontrol_write`: the request goes into `control/shutdown`.
    static func requestShutdown(_ domain: Domain, reason: PVControlRequest, xenstored: XenStored) throws {
        try DomainDevices.requestShutdown(of: domain.id, reason, xenstored: xenstored)
    }

    /// A console client's bytes to the guest; waits while the input queue is full (the
    /// client's socket then backs up), gives up once the domain has stopped.
    static func consoleInput(_ bytes: [UInt8], to domain: Domain) {
        var rest = bytes[...]
        // One registered wake-up at a time, however long the guest leaves its input unread.
        var space: Latch?
        while !rest.isEmpty && !domain.isShutDown {
            let n = domain.console.input(rest)
            rest = rest.dropFirst(n)
            if n == 0 {
                // Full: wait for the guest to take some (re-checking the domain now and then).
                if space == nil || space!.opened {
                    let latch = Latch()
                    domain.console.notifyWhenInputSpace { latch.open() }
                    space = latch
                }
                space!.wait(until: Host.monotonicNanoseconds() + 100_000_000)
            }
        }
    }
}
