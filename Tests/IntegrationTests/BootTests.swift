import Glibc
import HostOS
import Testing

extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct DemoTests {
        @Test func demoPrintsGreetingMemoryMapAndCmdline() throws {
            let r = try Env.petrel(["run", Env.guest, "--memory", "32", "--cmdline", "hello world"])
            #expect(r.status == 0, "stderr: \(r.stderr)")
            let greeting = try #require(r.lines.first { $0.hasPrefix("PetrelOS: hello from Xen ") })
            #expect(greeting.hasPrefix("PetrelOS: hello from Xen 4.17"))
            #expect(r.stdout.contains("hello world"))
            // The memory map: RAM from 0 and the reserved special pages at 0xfeff8000.
            #expect(r.stdout.lowercased().contains("feff8000"))
            #expect(r.stderr.contains("powered off"))
        }

        @Test func defaultKernelIsTheDemo() throws {
            let r = try Env.petrel(["run"])
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stdout.contains("PetrelOS: hello from Xen 4.17"))
        }
    }
}

extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct GuestHypercallTests {
        @Test(arguments: ["console", "version", "hvmparam", "memory", "sched", "enosys"])
        func guestTestPasses(_ name: String) throws {
            let r = try Env.guestTest(name)
            #expect(r.lines.contains("PASS \(name)"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(!r.stdout.contains("FAIL"), "stdout: \(r.stdout)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }

        @Test func ringAndConsoleIOStayInOrder() throws {
            let r = try Env.guestTest("ring")
            #expect(r.lines.contains("PASS ring"), "stdout: \(r.stdout)")
            let numbered = r.lines.compactMap { line -> Int? in
                let w = line.split(separator: " ")
                guard w.count == 2, w[0] == "ring" || w[0] == "io" else { return nil }
                return Int(w[1])
            }
            #expect(numbered.count >= 4)
            #expect(numbered == numbered.sorted(), "out of order: \(numbered)")
            #expect(Set(r.lines.filter { $0.hasPrefix("ring ") }).count >= 2)
        }
    }
}

extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct ShutdownTests {
        @Test(arguments: [("poweroff", Int32(0)), ("reboot", 3), ("crash", 2), ("watchdog", 4), ("suspend", 4)])
        func shutdownReasonBecomesExitStatus(_ reason: String, _ status: Int32) throws {
            let r = try Env.guestTest("shutdown", "reason=\(reason)")
            #expect(r.lines.contains("shutdown \(reason)"), "stdout: \(r.stdout)")
            #expect(r.status == status, "stderr: \(r.stderr)")
        }

        @Test func crashingGuestIsReported() throws {
            let r = try Env.guestTest("crash")
            #expect(r.status == 2)
            #expect(r.stderr.contains("crashed"))
        }

        @Test func faultingGuestReportsTheFaultAndCrashes() throws {
            let r = try Env.guestTest("fault")
            #expect(r.status == 2, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.stderr.contains("crashed"))
        }

        @Test func tripleFaultGetsARegisterReport() throws {
            let r = try Env.guestTest("triplefault")
            #expect(r.status == 2, "stderr: \(r.stderr)")
            #expect(r.stderr.contains("triple fault"))
            for reg in ["rip", "rsp", "rax", "cr0", "cr3", "cr4", "last hypercall"] {
                #expect(r.stderr.contains(reg), "missing \(reg) in: \(r.stderr)")
            }
        }
    }
}

extension KVMIntegration {
    @Suite struct BadInputTests {
        func expectError(_ args: [String], _ message: String, environment: [String: String] = [:]) throws {
            let r = try Env.petrel(args, environment: environment)
            #expect(r.status == 1, "stderr: \(r.stderr)")
            #expect(r.stderr.contains(message), "stderr: \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one-line error expected: \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }

        @Test(.enabled(if: HostProcessExists.petrel)) func missingFile() throws {
            try expectError(["run", "/nonexistent/kernel"], "no such file")
        }

        @Test(.enabled(if: HostProcessExists.petrel)) func notAnELF() throws {
            try expectError(["run", Env.root + "/Package.swift"], "not an ELF")
        }

        @Test(.enabled(if: HostProcessExists.petrel)) func directory() throws {
            try expectError(["run", "/tmp"], "directory")
        }

        @Test(.enabled(if: HostProcessExists.petrel && HostProcess.fileExists(Env.guest))) func missingKVM() throws {
            try expectError(["run", Env.guest], "KVM is not available", environment: ["PETREL_KVM_DEVICE": "/nonexistent/kvm"])
        }

        @Test(.enabled(if: Env.canBoot)) func tooLittleMemory() throws {
            try expectError(["run", Env.guest, "--memory", "1"], "too little memory")
        }
    }
}

enum HostProcessExists {
    static var petrel: Bool { access(Env.petrel, X_OK) == 0 }
}
