import Glibc
import HostOS
import Testing
@testable import Toolstack

@Suite("xl.cfg: loading files and telling configs from kernels")
struct XLConfigLoadTests {
    /// A fresh directory under /tmp holding the test's files; removed when the test ends.
    final class Files {
        let dir: String
        init() throws {
            var template = Array("/tmp/petrel-xlcfg-XXXXXX".utf8CString)
            guard mkdtemp(&template) != nil else { throw HostError("mkdtemp", Host.lastErrno) }
            dir = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = dir + "/" + name
            guard let f = fopen(path, "w") else { throw HostError("fopen \(path)", Host.lastErrno) }
            defer { fclose(f) }
            guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { throw HostError("fwrite \(path)", Host.lastErrno) }
            return path
        }

        deinit { _ = try? HostProcess.run("/bin/rm", ["-rf", dir]) }
    }

    @Test func loadResolvesPathsAgainstTheFilesDirectory() throws {
        let files = try Files()
        let path = try files.write("guest.cfg", Array("name=\"g\"\ntype=\"pvh\"\nkernel=\"k.elf\"\nramdisk=\"/abs/r\"\n".utf8))
        let c = try XLConfig.load(path: path, overrides: ["extra=\"x\""])
        #expect(c.kernel == files.dir + "/k.elf")
        #expect(c.ramdisk == "/abs/r")
        #expect(c.cmdline == "x")
    }

    @Test func unreadableFiles() throws {
        let files = try Files()
        #expect(throws: XLConfigError(.unreadable, source: files.dir + "/none.cfg", "no such file")) {
            try XLConfig.load(path: files.dir + "/none.cfg")
        }
        #expect(throws: XLConfigError(.unreadable, source: files.dir, "is a directory, not a config file")) {
            try XLConfig.load(path: files.dir)
        }
        let big = try files.write("big.cfg", [UInt8](repeating: UInt8(ascii: "#"), count: XLConfig.maximumFileSize + 1))
        #expect(throws: XLConfigError(.unreadable, source: big, "larger than 1 MiB; not an xl.cfg")) {
            try XLConfig.load(path: big)
        }
    }

    @Test func runFileTellsKernelsFromConfigs() throws {
        let files = try Files()
        let elf = try files.write("k.elf", [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0])
        #expect(try XLConfig.openRunFile(elf, overrides: ["memory=\"ignored for kernels\""]) == .kernel)
        // Larger than any config: left for the kernel loader to judge.
        let big = try files.write("big.bin", [UInt8](repeating: 0, count: XLConfig.maximumFileSize + 1))
        #expect(try XLConfig.openRunFile(big) == .kernel)
        let cfg = try files.write("g.cfg", Array("name=\"g\"; type=\"pvh\"; kernel=\"k.elf\"".utf8))
        guard case .config(let c) = try XLConfig.openRunFile(cfg, overrides: ["memory=64"]) else {
            Issue.record("g.cfg is a config")
            return
        }
        #expect(c.kernel == elf && c.memoryMiB == 64)
    }

    @Test func aFileWrongFromItsFirstLineIsReportedAsNotAKernelEither() throws {
        let files = try Files()
        let script = try files.write("run.sh", Array("#!/bin/sh\n\necho hi\n".utf8))
        #expect(throws: XLConfigError(.syntax, source: script, location: XLConfigLocation(source: script, line: 3, column: 6),
                                      "expected '=' or '+=' after \"echo\", got \"hi\" (not an ELF kernel image, so read as an xl.cfg)")) {
            try XLConfig.openRunFile(script)
        }
        // A mistake further down a real config gets no such hint.
        let cfg = try files.write("typo.cfg", Array("name = \"g\"\nmemory 64\n".utf8))
        do {
            _ = try XLConfig.openRunFile(cfg)
            Issue.record("typo.cfg must not parse")
        } catch {
            #expect(error.description == "\(cfg):2:8: syntax error: expected '=' or '+=' after \"memory\", got the number 64")
        }
    }
}
