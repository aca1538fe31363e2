import Glibc
import HostOS
import Testing

/// `petrel run guest.cfg [key=value…]`: xl.cfg files boot real guests; bad ones fail with the
/// file, line and key before anything runs.
extension KVMIntegration {
    @Suite(.enabled(if: Env.canBoot, Env.skipReason))
    struct ConfigRunTests {
        /// A fresh directory under /tmp, removed by `cleanup`.
        final class TempDir {
            let path: String
            init() throws {
                var template = Array("/tmp/petrel-cfg-XXXXXX".utf8CString)
                guard mkdtemp(&template) != nil else { throw HostError("mkdtemp", Host.lastErrno) }
                path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }

            /// Writes `text` to `name` in the directory; returns its path.
            @discardableResult
            func write(_ name: String, _ text: String) throws -> String {
                let file = path + "/" + name
                guard let f = fopen(file, "w") else { throw HostError("fopen \(file)", Host.lastErrno) }
                defer { fclose(f) }
                guard fputs(text, f) >= 0 else { throw HostError("fputs \(file)", Host.lastErrno) }
                return file
            }

            deinit { _ = try? HostProcess.run("/bin/rm", ["-rf", path]) }
        }

        @Test func configBootsTheGuestWithItsCommandLine() throws {
            let dir = try TempDir()
            let cfg = try dir.write("guest.cfg", """
                # PetrelOS, console test
                name = "cfg-console"
                type = "pvh"
                kernel = "\(Env.guest)"
                memory = 32
                extra = "test=console"
                """)
            let r = try Env.petrel(["run", cfg])
            #expect(r.lines.contains("PASS console"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stderr.contains("domain 'cfg-console' powered off"), "stderr: \(r.stderr)")
            #expect(!r.stderr.contains("warning"), "stderr: \(r.stderr)")
        }

        /// The kernel path is relative to the config's directory, not to petrel's working
        /// directory; unknown keys are warned about on stderr and the guest still runs.
        @Test func relativeKernelAndWarnings() throws {
            let dir = try TempDir()
            guard symlink(Env.guest, dir.path + "/kernel.elf") == 0 else { throw HostError("symlink", Host.lastErrno) }
            let cfg = try dir.write("rel.cfg", """
                name = "cfg-relative"
                kernel = "kernel.elf"
                vif = [ "bridge=xenbr0" ]
                extra = "test=console"
                """)
            let r = try Env.petrel(["run", cfg])
            #expect(r.lines.contains("PASS console"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stderr.contains("petrel: warning: \(cfg):3: unknown key \"vif\" ignored"), "stderr: \(r.stderr)")
            #expect(r.stderr.contains("petrel: warning: \(cfg): no \"type\" given"), "stderr: \(r.stderr)")
        }

        /// key=value settings follow the file (`+=` joins onto its value); options follow them.
        @Test func settingsAndOptionsOverrideTheFile() throws {
            let dir = try TempDir()
            let cfg = try dir.write("o.cfg", """
                name = "cfg-file-name"; type = "pvh"; kernel = "\(Env.guest)"
                memory = 16
                extra = "test=console"
                """)
            let r = try Env.petrel(["run", cfg, "extra=\"test=version\"", "memory=32", "--name", "from-option"])
            #expect(r.lines.contains("PASS version"), "stdout: \(r.stdout)\nstderr: \(r.stderr)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stderr.contains("domain 'from-option' powered off"), "stderr: \(r.stderr)")
        }

        func expectFailure(_ args: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try Env.petrel(args)
            #expect(r.status == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
            #expect(r.stderr == "petrel: \(message)\n", sourceLocation: sourceLocation)
            #expect(r.stdout.isEmpty, "the guest must not have run: \(r.stdout)", sourceLocation: sourceLocation)
        }

        @Test func badValueNamesFileLineAndKey() throws {
            let dir = try TempDir()
            let cfg = try dir.write("bad.cfg", """
                name = "bad"
                type = "pvh"
                kernel = "\(Env.guest)"

                # too much of a good thing
                vcpus = 1
                memory = "lots"
                """)
            try expectFailure(["run", cfg], "\(cfg):7: memory: expected a number of MiB, got \"lots\"")
            try expectFailure(["run", cfg, "memory=64", "vcpus=0"], "command line:2: vcpus: must be 1 to 128, got 0")
            try expectFailure(["run", cfg, "--memory", "64", "--vcpus", "500"], "command line:2: vcpus: must be 1 to 128, got 500")
        }

        @Test func syntaxAndUnsupportedValues() throws {
            let dir = try TempDir()
            let syntax = try dir.write("syntax.cfg", "name = \"s\"\nkernel = \"\(Env.guest)\"\nmemory 32\n")
            try expectFailure(["run", syntax], "\(syntax):3:8: syntax error: expected '=' or '+=' after \"memory\", got the number 32")
            let hvm = try dir.write("hvm.cfg", "name = \"h\"\ntype = \"hvm\"\nkernel = \"\(Env.guest)\"\n")
            try expectFailure(["run", hvm], "\(hvm):2: type: \"hvm\" guests are not supported: Petrel runs PVH guests (type = \"pvh\")")
            let noName = try dir.write("noname.cfg", "kernel = \"\(Env.guest)\"\ntype = \"pvh\"\n")
            try expectFailure(["run", noName], "\(noName): name: missing; every domain needs a name")
        }

        @Test func settingsNeedAConfigFile() throws {
            try expectFailure(["run", Env.guest, "memory=64"],
                              "memory=64: KEY=VALUE settings need an xl.cfg, and \(Env.guest) is a kernel image")
        }
    }
}
