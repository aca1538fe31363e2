import HostOS

/// The CLI's side of `petrel.sock`: one connection, requests and replies as JSON lines.
public final class ControlClient: Sendable {
    public let socketPath: String
    private let connection: UnixConnection

    /// The daemon's state directory: `$PETREL_STATE_DIR`, else /run/petrel.
    public static var defaultStateDir: String {
        HostProcess.environment("PETREL_STATE_DIR") ?? PetrelDaemon.defaultStateDir
    }

    public init(stateDir: String = ControlClient.defaultStateDir) throws(ToolstackError) {
        socketPath = stateDir + "/petrel.sock"
        do { connection = try UnixConnection.connect(path: socketPath) } catch {
            throw .engine("cannot reach the petrel daemon at \(socketPath) (\(error.errno)); start it with `petrel daemon`")
        }
    }

    /// Sends `request`; returns the reply, or throws its error message.
    @discardableResult
    public func call(_ request: ControlRequest) throws(ToolstackError) -> ControlResponse {
        let line: String?
        do {
            try connection.write(line: ControlCodec.encode(request))
            line = try connection.readLine()
        } catch {
            throw .engine("petrel daemon: \(error)")
        }
        guard let line else { throw .engine("petrel daemon closed the connection") }
        let reply: ControlResponse
        do { reply = try ControlCodec.decode(ControlResponse.self, from: line) } catch {
            throw .engine("petrel daemon: malformed reply")
        }
        guard reply.ok else { throw .engine(reply.error ?? "request failed") }
        return reply
    }

    /// `xl console`: copies the domain's console to `output` and `input` to the domain until
    /// the domain ends, `input` ends, or the escape byte (Ctrl-], 0x1d) arrives.
    /// Returns true if the user detached with the escape byte.
    public func attachConsole(domain: String, input: Int32, output: Int32, escape: UInt8? = 0x1d) throws(ToolstackError) -> Bool {
        try call(ControlRequest(op: .console, domain: domain))
        // Console bytes that arrived with the reply are already read.
        Host.writeAll(output, connection.takeBuffered())
        let sock = connection.fd
        var inputOpen = true
        while true {
            let fds = inputOpen ? [sock, input] : [sock]
            let ready = Host.pollReadable(fds, timeoutMs: -1)
            if ready[0] {
                let bytes = (try? connection.read()) ?? []
                if bytes.isEmpty { return false }
                Host.writeAll(output, bytes)
            }
            if inputOpen && ready.count > 1 && ready[1] {
                var bytes = Host.readSome(input)
                if bytes.isEmpty {
                    inputOpen = false
                    continue
                }
                if let escape, let i = bytes.firstIndex(of: escape) {
                    bytes.removeSubrange(i...)
                    if !bytes.isEmpty { try? connection.write(bytes) }
                    return true
                }
                do { try connection.write(bytes) } catch { return false }
            }
        }
    }

    public func close() { connection.close() }
}
