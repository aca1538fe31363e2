/// `sched_op` (sched.h).
public enum SchedOpCmd: UInt64, Sendable {
    case yield = 0, block = 1, shutdown = 2, poll = 3, remoteShutdown = 4, shutdownCode = 5
    case watchdog = 6, pinOverride = 7
}

/// `enum sched_shutdown_reason`.
public enum ShutdownReason: UInt32, Sendable, CustomStringConvertible {
    case poweroff = 0, reboot = 1, suspend = 2, crash = 3, watchdog = 4, softReset = 5
    public var description: String {
        switch self {
        case .poweroff: "poweroff"
        case .reboot: "reboot"
        case .suspend: "suspend"
        case .crash: "crash"
        case .watchdog: "watchdog"
        case .softReset: "soft_reset"
        }
    }
}

/// `struct sched_shutdown`.
public let schedShutdownSize = 4
/// `struct sched_remote_shutdown`: domain_id at 0, reason at 4.
public let schedRemoteShutdownSize = 8
/// `struct sched_poll` (x86-64): ports handle at 0, nr_ports at 8, timeout at 16.
public let schedPollSize = 24
