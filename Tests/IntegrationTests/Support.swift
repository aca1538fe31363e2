import Glibc
import HostOS
import Testing

/// Integration tests run the real `petrel` CLI on real guests on /dev/kvm.
enum Env {
    static let root: String = {
        // Tests/IntegrationTests/Support.swift → the package root.
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static var petrel: String {
        HostProcess.environment("PETREL_BIN") ?? root + "/.build/debug/petrel"
    }

    /// The guests' directory: `$PETREL_GUEST_DIR` (as Guests/PetrelOS/build.sh takes it), else
    /// build/guests.
    static var guestDir: String { HostProcess.environment("PETREL_GUEST_DIR") ?? root + "/build/guests" }

    static var guest: String { guestDir + "/petrelos.elf" }

    /// True where /dev/kvm opens read-write; tests that boot guests are skipped elsewhere,
    /// with this reason shown.
    static let kvmAvailable: Bool = {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        if fd < 0 { return false }
        close(fd)
        return true
    }()

    static var canBoot: Bool { kvmAvailable && HostProcess.fileExists(guest) && HostProcess.fileExists(petrel) }

    static let skipReason: Comment = "needs /dev/kvm, build/guests/petrelos.elf and the petrel binary (scripts/test builds both)"

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The run's peak resident memory (`HostProcess.peakRSSKiB`), in KiB.
        var peakRSSKiB: Int = 0
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Runs the CLI, killed after `timeout` seconds so a wedged guest fails its test instead
    /// of hanging the suite (status 124, or 137 after SIGKILL, from coreutils' timeout).
    /// Its stdin is /dev/null, or a pipe carrying `stdin` and then end of file.
    static func petrel(_ args: [String], environment: [String: String] = [:], timeout: Int = 300,
                       stdin: [UInt8]? = nil) throws -> Run {
        let r = try HostProcess.run("/usr/bin/timeout", ["-s", "KILL", "\(timeout)", petrel] + args, environment: environment,
                                    stdin: stdin)
        return Run(status: r.status, stdout: r.stdout, stderr: r.stderr, peakRSSKiB: r.peakRSSKiB)
    }

    /// Boots PetrelOS with `test=NAME` plus extra words on the command line.
    static func guestTest(_ name: String, _ extra: String = "") throws -> Run {
        try petrel(["run", guest, "--memory", "32", "--cmdline", "test=\(name) \(extra)"])
    }
}

/// Every test that boots guests is nested here: they run one at a time, because guests spin
/// and time themselves, and two cores shared by several guests starve them.
@Suite(.serialized) enum KVMIntegration {}
