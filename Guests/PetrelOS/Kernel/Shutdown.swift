// Shutting the domain down: SCHEDOP_shutdown (xen/sched.h) under Xen; without Xen,
// QEMU's isa-debug-exit device at port 0xf4 (QEMU exits with status (value<<1)|1).

enum ShutdownReason: UInt32 {
    case poweroff = 0   // SHUTDOWN_poweroff
    case reboot = 1     // SHUTDOWN_reboot
    case suspend = 2    // SHUTDOWN_suspend
    case crash = 3      // SHUTDOWN_crash
    case watchdog = 4   // SHUTDOWN_watchdog

    var name: StaticString {
        switch self {
        case .poweroff: return "poweroff"
        case .reboot: return "reboot"
        case .suspend: return "suspend"
        case .crash: return "crash"
        case .watchdog: return "watchdog"
        }
    }

    static func named(_ word: CmdlineWord) -> ShutdownReason? {
        var raw: UInt32 = 0
        while let reason = ShutdownReason(rawValue: raw) {
            if word.equals(reason.name) { return reason }
            raw += 1
        }
        return nil
    }
}

enum Shutdown {
    static let debugExitPort: UInt16 = 0xf4

    static func shutdown(_ reason: ShutdownReason) -> Never {
        Console.flush()
        if Xen.present {
            let rc = Xen.shutdown(reason: reason.rawValue)
            // Only a cancelled/resumed suspend comes back here.
            out.s("PetrelOS: SCHEDOP_shutdown(").s(reason.name).s(") returned ").rc(rc).end()
            Console.flush()
        } else {
            petrel_outl(debugExitPort, reason.rawValue)
        }
        petrel_halt_forever()
    }
}
