import HostOS
import Hypervisor
import Logging
import XenStore

/// A hidden test hook of `petrel run`, for integration tests of a guest's shutdown watch while
/// the foreground runner has no other xenstore writer:
///
///     PETREL_TEST_SHUTDOWN_AFTER_MS=<ms>[:poweroff|reboot|suspend]   (default poweroff)
///
/// `<ms>` after the domain starts, the toolstack writes the request to the guest's
/// `control/shutdown` exactly as `xl shutdown` / `xl reboot` would
/// (`DomainDevices.requestShutdown`). Not a user option: nothing else reads the variable.
struct TestShutdownHook: Equatable {
    static let variable = "PETREL_TEST_SHUTDOWN_AFTER_MS"

    var delayMilliseconds: UInt64
    var request: PVControlRequest

    /// Parses the variable's value; nil if it is malformed.
    init?(_ value: String) {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let ms = UInt64(parts[0]), ms <= 3_600_000 else { return nil }
        delayMilliseconds = ms
        if parts.count == 2 {
            guard let r = PVControlRequest(rawValue: String(parts[1])) else { return nil }
            request = r
        } else {
            request = .poweroff
        }
    }

    /// The hook the environment asks for, if any.
    static func fromEnvironment() throws(ToolstackError) -> TestShutdownHook? {
        guard let value = HostProcess.environment(variable) else { return nil }
        guard let hook = TestShutdownHook(value) else {
            throw .badOption("\(variable)=\(value): expected <ms>[:poweroff|reboot|suspend]")
        }
        return hook
    }

    /// Arms the write on a timer thread of its own; the caller stops the returned queue when the
    /// domain is gone.
    func arm(for domain: Domain, xenstored: XenStored, logger: Logger) -> DeadlineQueue<Int> {
        let queue = DeadlineQueue<Int>(name: "test-shutdown")
        let request = request, id = domain.id
        queue.arm(0, at: Host.monotonicNanoseconds() + delayMilliseconds * 1_000_000) {
            do {
                try DomainDevices.requestShutdown(of: id, request, xenstored: xenstored)
                logger.debug("\(Self.variable): wrote \(request.rawValue) to control/shutdown of \(id)")
            } catch {
                logger.warning("\(Self.variable): cannot write control/shutdown of \(id): \(error)")
            }
        }
        return queue
    }
}
