import Glibc
import HostOS
import Testing

/// Console input from the host into a real guest: `petrel run`'s stdin reaches the PV ring's
/// in[] (test=echo) or CONSOLEIO_read (test=consoleread), with back-pressure in between.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct ConsoleInputTests {
        static func run(_ test: String, input: [UInt8], timeout: Int = 300) throws -> Env.Run {
            try Env.petrel(["run", Env.guest, "--memory", "32", "--cmdline", "test=\(test) idle=60"],
                           timeout: timeout, stdin: input)
        }

        /// The guest's echo protocol lines (anything else it prints is ignored).
        static func echoLines(_ r: Env.Run) -> [String] {
            r.lines.filter { $0.hasPrefix("echo") || $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") }
        }

        @Test(arguments: ["echo", "consoleread"])
        func linesFromStdinAreEchoed(_ test: String) throws {
            let r = try Self.run(test, input: Array("hello\nworld\nquit\n".utf8))
            #expect(Self.echoLines(r) == ["echo ready", "echo: hello", "echo: world", "PASS \(test)"],
                    "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }

        /// Over 100 KiB of lines: more than the console's 64 KiB queue and a hundred times the
        /// ring's in[], so the input pump waits for the guest again and again. Every line must
        /// come back, in order. (Long lines: each echoed line costs the guest milliseconds of
        /// VM exits on this backend.)
        @Test(arguments: ["echo", "consoleread"])
        func bulkInputArrivesWholeAndInOrder(_ test: String) throws {
            let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
            var lines: [String] = []
            var size = 0
            while size < 100 << 10 {
                let n = lines.count
                let pad = (0..<(300 + n * 37 % 600)).map { Character(UnicodeScalar(alphabet[($0 + n) % alphabet.count])) }
                let line = "line \(n) " + String(pad)
                lines.append(line)
                size += line.utf8.count + 1
            }
            let input = Array((lines.joined(separator: "\n") + "\nquit\n").utf8)
            let r = try Self.run(test, input: input, timeout: 600)
            let echoed = r.lines.filter { $0.hasPrefix("echo: ") }.map { String($0.dropFirst(6)) }
            #expect(echoed.count == lines.count, "stderr: \(r.stderr)\nstdout tail: \(r.stdout.suffix(500))")
            #expect(echoed == lines, "first difference at line \(Array(zip(echoed, lines)).firstIndex { $0.0 != $0.1 } ?? min(echoed.count, lines.count))")
            #expect(r.lines.last == "PASS \(test)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }

        /// A guest that never reads its console, given more input than the queue holds: the
        /// pump waits for room that never comes, and must still end with the domain.
        @Test func aGuestThatReadsNothingStillEndsTheRun() throws {
            let input = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
            let r = try Env.petrel(["run", Env.guest, "--memory", "32", "--cmdline", "test=boot"], timeout: 60, stdin: input)
            #expect(r.lines.contains("PetrelOS: boot"), "stdout: \(r.stdout)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }

        /// Stdin that stays open (a terminal nobody types at, a pipe nobody closes) must not keep
        /// `petrel run` alive after its guest powered off.
        @Test func stdinLeftOpenDoesNotHoldTheRun() throws {
            let t0 = Host.monotonicNanoseconds()
            let p = try HostProcess(path: "/usr/bin/timeout",
                                    arguments: ["timeout", "-s", "KILL", "60", Env.petrel, "run", Env.guest,
                                                "--memory", "32", "--cmdline", "test=boot"],
                                    stderr: .capture, stdinPipe: true)
            let out = String(decoding: HostProcess.readAll(p.stdoutFD), as: UTF8.self)
            let err = String(decoding: HostProcess.readAll(p.stderrFD), as: UTF8.self)
            let status = p.wait()
            close(p.stdinFD)
            #expect(status == 0, "stderr: \(err)")
            #expect(out.contains("PetrelOS: boot"))
            #expect(Host.monotonicNanoseconds() - t0 < 30_000_000_000, "the run must end with its guest")
        }
    }
}
