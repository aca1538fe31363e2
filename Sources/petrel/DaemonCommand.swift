import ArgumentParser
import HostOS
import Toolstack

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Hold many domains; serve the control API and xenstored in the state directory.",
        discussion: """
            Sockets: STATE_DIR/petrel.sock (the control API, docs/control-api.md) and \
            STATE_DIR/xenstored.socket (xenstore's wire protocol; XENSTORED_PATH for Debian's \
            xenstore tools). SIGINT or SIGTERM destroys every domain and stops the daemon.
            """)

    @Option(help: "Where the sockets live (default $PETREL_STATE_DIR, else /run/petrel).")
    var stateDir: String?

    func run() throws {
        // Before any thread exists, so that every thread inherits the blocked mask.
        Host.blockTerminationSignals()
        Petrel.bootstrapLogging()
        let dir = stateDir ?? ControlClient.defaultStateDir
        let daemon: PetrelDaemon
        do {
            daemon = try AsyncBridge.wait { try await PetrelDaemon.start(stateDir: dir) }
        } catch {
            CLIEnvironment.writeStderr("petrel: \(error)\n")
            throw ExitCode(1)
        }
        _ = try HostThread(name: "petrel-signals") {
            let sig = Host.waitForTerminationSignal()
            CLIEnvironment.writeStderr("petrel: daemon stopping (signal \(sig))\n")
            _ = try? AsyncBridge.wait { await daemon.stop() }
        }
        daemon.serve()
    }
}

/// Runs async work from synchronous code (the CLI's commands are synchronous).
enum AsyncBridge {
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = Latch()
        nonisolated(unsafe) var result: Result<T, any Error>?
        Task {
            do { result = .success(try await body()) } catch { result = .failure(error) }
            done.open()
        }
        done.wait()
        return try result!.get()
    }
}
