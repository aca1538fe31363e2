import HostOS
import Logging

enum CLIEnvironment {
    /// PETREL_LOG=debug|info|notice|warning|error (default notice).
    static var logLevel: Logger.Level {
        HostProcess.environment("PETREL_LOG").flatMap { Logger.Level(rawValue: $0) } ?? .notice
    }

    /// Guest console output: written straight to fd 1, so it appears live.
    @Sendable static func writeStdout(_ bytes: [UInt8]) { Host.writeAll(1, bytes) }

    static func writeStderr(_ s: String) { Host.writeAll(2, Array(s.utf8)) }
}
