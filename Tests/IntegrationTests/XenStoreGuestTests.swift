import HostOS
import Testing

/// xenstore from inside a real guest: PetrelOS's xenbus client over the shared ring, against
/// the xenstored `petrel run` gives its domain.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct XenStoreGuestTests {
        static func run(_ cmdline: String, environment: [String: String] = [:]) throws -> Env.Run {
            try Env.petrel(["run", Env.guest, "--memory", "64", "--cmdline", cmdline],
                           environment: environment, timeout: 120)
        }

        /// Paths, values, directories, permissions, watches, transactions, EACCES and ENOENT,
        /// messages across ring wraps (the guest's own checks, `Tests/TestXenStore.swift`).
        @Test func guestXenStoreTestPasses() throws {
            let r = try Self.run("test=xenstore")
            #expect(r.lines.contains("PASS xenstore"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(!r.stdout.contains("FAIL"), "stdout: \(r.stdout)")
            #expect(r.lines.contains { $0.hasPrefix("xenstore: domid 1 name ") }, "stdout: \(r.stdout)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }

        /// The toolstack writes control/shutdown as `xl shutdown` / `xl reboot` do (through the
        /// runner's hidden test hook); the guest hears it on its watch, acknowledges it and shuts
        /// down with that reason: exit 0 for poweroff, 3 for reboot.
        @Test(arguments: [("poweroff", Int32(0)), ("reboot", Int32(3))])
        func guestActsOnAShutdownRequest(_ request: String, _ status: Int32) throws {
            let r = try Self.run("test=xsshutdown timeout=60",
                                 environment: ["PETREL_TEST_SHUTDOWN_AFTER_MS": "200:\(request)"])
            #expect(r.lines.contains("xsshutdown: waiting for control/shutdown"), "stdout: \(r.stdout)")
            #expect(r.lines.contains("xsshutdown: \(request) requested"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.lines.contains("PASS xsshutdown"), "stdout: \(r.stdout)")
            #expect(!r.stdout.contains("FAIL"), "stdout: \(r.stdout)")
            #expect(r.status == status, "stderr: \(r.stderr)")
        }

        /// A request the guest does not handle (suspend) is left unacknowledged; nothing else
        /// comes, so the guest's wait times out.
        @Test func guestIgnoresARequestItCannotHandle() throws {
            let r = try Self.run("test=xsshutdown timeout=2",
                                 environment: ["PETREL_TEST_SHUTDOWN_AFTER_MS": "100:suspend"])
            #expect(r.lines.contains("xsshutdown: ignoring shutdown request: suspend"), "stdout: \(r.stdout)")
            #expect(r.lines.contains { $0.hasPrefix("FAIL xsshutdown: control/shutdown") }, "stdout: \(r.stdout)")
        }

        @Test func aMalformedHookValueIsRefused() throws {
            let r = try Self.run("test=boot", environment: ["PETREL_TEST_SHUTDOWN_AFTER_MS": "soon"])
            #expect(r.status == 1)
            #expect(r.stderr.contains("PETREL_TEST_SHUTDOWN_AFTER_MS=soon"), "stderr: \(r.stderr)")
        }
    }
}
