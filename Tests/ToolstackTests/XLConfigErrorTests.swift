import Testing
@testable import Toolstack

@Suite("xl.cfg: bad values and syntax errors name the file, line and key")
struct XLConfigErrorTests {
    static let head = "name = \"g\"\ntype = \"pvh\"\nkernel = \"/k\"\n"  // lines 1-3; line 4 is the test's

    /// Line 4 holds `line`; the error must be a bad value of `key` at guest.cfg:4 saying `says`.
    func expectBadValue(_ line: String, key: String, _ says: String, kind: XLConfigError.Kind = .badValue,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = xlError(Self.head + line, sourceLocation: sourceLocation) else { return }
        #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
        #expect(e.key == key, "\(e)", sourceLocation: sourceLocation)
        #expect(e.location?.line == 4, "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix("guest.cfg:4: \(key): "), "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.contains(says), "\(e)", sourceLocation: sourceLocation)
    }

    /// The error for `text` must be a syntax error at guest.cfg:line:column saying `says`.
    func expectSyntax(_ text: String, line: Int, column: Int, _ says: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = xlError(text, sourceLocation: sourceLocation) else { return }
        #expect(e.kind == .syntax, "\(e)", sourceLocation: sourceLocation)
        #expect(e.location == XLConfigLocation(source: "guest.cfg", line: line, column: column), "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix("guest.cfg:\(line):\(column): syntax error: "), "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.contains(says), "\(e)", sourceLocation: sourceLocation)
    }

    @Test func theBriefsExampleMessage() {
        let e = xlError(Self.head + "\n\n\nmemory = \"lots\"")
        #expect(e?.description == "guest.cfg:7: memory: expected a number of MiB, got \"lots\"")
    }

    @Test func memory() {
        expectBadValue("memory = \"lots\"", key: "memory", "expected a number of MiB, got \"lots\"")
        expectBadValue("memory = 512M", key: "memory", "expected a number of MiB, got \"512M\"")
        expectBadValue("memory = 0", key: "memory", "0 MiB is too little")
        expectBadValue("memory = 1", key: "memory", "too little")
        expectBadValue("memory = 1048577", key: "memory", "more than 1 TiB")
        expectBadValue("memory = 99999999999999999999999", key: "memory", "expected a number of MiB")
        expectBadValue("memory = [64]", key: "memory", "got a [list]")
        expectBadValue("memory = 09", key: "memory", "expected a number of MiB, got \"09\"")
        expectBadValue("memory += 64", key: "memory", "can't use += with numbers")
        expectBadValue("memory = 64; maxmem = 16", key: "maxmem", "16 MiB is less than memory (64 MiB)")
        expectBadValue("maxmem = 0x7fffffffffffffff", key: "maxmem", "more than 1 TiB")
    }

    @Test func vcpus() {
        expectBadValue("vcpus = 0", key: "vcpus", "must be 1 to 128, got 0")
        expectBadValue("vcpus = 129", key: "vcpus", "must be 1 to 128, got 129")
        expectBadValue("vcpus = \"two\"", key: "vcpus", "expected a number of vCPUs, got \"two\"")
        expectBadValue("maxvcpus = 0", key: "maxvcpus", "must be 1 to 128")
        guard let e = xlError(Self.head + "vcpus = 4\nmaxvcpus = 2") else { return }
        #expect(e.description == "guest.cfg:5: maxvcpus: 2 is less than vcpus (4)")
    }

    @Test func cpus() {
        expectBadValue("cpus = \"0-\"", key: "cpus", "\"0-\" is not a CPU")
        expectBadValue("cpus = \"3-1\"", key: "cpus", "is not a CPU")
        expectBadValue("cpus = \"x\"", key: "cpus", "is not a CPU")
        expectBadValue("cpus = \"^all\"", key: "cpus", "can't combine \"^\" and \"all\"")
        expectBadValue("cpus = \"nodes:0\"", key: "cpus", "NUMA nodes are not supported")
        expectBadValue("cpus = \"0-5000\"", key: "cpus", "beyond the 4096 CPUs")
        expectBadValue("cpus = \"0,^0\"", key: "cpus", "selects no CPU")
        expectBadValue("cpus = \"\"", key: "cpus", "selects no CPU")
        expectBadValue("cpus = [[\"0\"]]", key: "cpus", "expected a CPU list string, got a [list]")
        // A bad item of a list names the item's own line.
        guard let e = xlError(Self.head + "maxvcpus = 2\ncpus = [\n  \"0\",\n  \"zz\",\n]") else { return }
        #expect(e.description == "guest.cfg:7: cpus: \"zz\" is not a CPU, a range N-M or \"all\"")
    }

    @Test func shutdownActions() {
        for key in ["on_poweroff", "on_reboot", "on_watchdog", "on_crash"] {
            expectBadValue("\(key) = \"explode\"", key: key, "expected destroy, restart or preserve, got \"explode\"")
            for word in ["rename-restart", "coredump-destroy", "coredump-restart", "soft-reset"] {
                expectBadValue("\(key) = \"\(word)\"", key: key, "\"\(word)\" is not supported by Petrel", kind: .unsupported)
            }
        }
    }

    @Test func typeAndBuilder() {
        expectBadValue("type = \"hvm\"", key: "type", "Petrel runs PVH guests", kind: .unsupported)
        expectBadValue("type = \"pv\"", key: "type", "Petrel runs PVH guests", kind: .unsupported)
        expectBadValue("type = \"pvhx\"", key: "type", "expected \"pvh\", got \"pvhx\"")
        expectBadValue("builder = \"hvm\"", key: "builder", "Petrel runs PVH guests", kind: .unsupported)
    }

    @Test func limitsOfGrantFramesAndEventChannels() {
        expectBadValue("max_grant_frames = 0", key: "max_grant_frames", "must be 1 to 1024, got 0")
        expectBadValue("max_grant_frames = 1025", key: "max_grant_frames", "must be 1 to 1024")
        expectBadValue("max_event_channels = 4097", key: "max_event_channels", "must be 1 to 4096, got 4097")
        expectBadValue("max_event_channels = \"many\"", key: "max_event_channels", "expected a number of event channels")
    }

    @Test func otherKeys() {
        expectBadValue("privileged = \"yes\"", key: "privileged", "expected true, false, 1 or 0, got \"yes\"")
        expectBadValue("privileged = [1]", key: "privileged", "got a [list]")
        expectBadValue("uuid = \"0123\"", key: "uuid", "expected a UUID")
        expectBadValue("uuid = \"0123456789ab-cdef-0123-456789abcdef\"", key: "uuid", "expected a UUID")
        expectBadValue("uuid = \"01234567-89ab-cdef-0123-456789abcdeg\"", key: "uuid", "expected a UUID")
        expectBadValue("name = \"\"", key: "name", "must be 1 to 64 bytes")
        expectBadValue("name = \"" + String(repeating: "n", count: 65) + "\"", key: "name", "must be 1 to 64 bytes")
        expectBadValue("name = \"a\\tb\"", key: "name", "control characters")
        expectBadValue("name = [\"g\"]", key: "name", "expected a single value, got a [list]")
        expectBadValue("kernel = \"\"", key: "kernel", "expected a file name")
        expectBadValue("ramdisk = [\"a\"]", key: "ramdisk", "got a [list]")
        expectBadValue("extra = [\"a\"]", key: "extra", "got a [list]")
        expectBadValue("extra += [\"a\"]", key: "extra", "got a [list]")  // += with nothing before sets
    }

    @Test func missingRequiredKeys() {
        let noName = xlError("type = \"pvh\"\nkernel = \"/k\"")
        #expect(noName?.kind == .missingKey && noName?.key == "name")
        #expect(noName?.description == "guest.cfg: name: missing; every domain needs a name")
        let noKernel = xlError("name = \"g\"\ntype = \"pvh\"")
        #expect(noKernel?.kind == .missingKey && noKernel?.key == "kernel")
        #expect(noKernel?.description.hasPrefix("guest.cfg: kernel: missing") == true)
    }

    @Test func plusEqualsTypeMismatch() {
        guard let e = xlError(Self.head + "extra = \"a\"\nextra += [\"b\"]") else { return }
        #expect(e.key == "extra" && e.location?.line == 5)
        #expect(e.description.contains("can't add a [list] to a \"string\""))
    }

    @Test func syntaxErrors() {
        expectSyntax("name = \"g\"\nmemory 64\n", line: 2, column: 8, "expected '=' or '+=' after \"memory\", got the number 64")
        expectSyntax("name = \"g\"\nmemory = \n", line: 2, column: 10, "expected a value for \"memory\", got the end of the line")
        expectSyntax("name = \"g\"\nmemory = 64 128\n", line: 2, column: 13, "expected the end of the line or ';'")
        expectSyntax("name = g\n", line: 1, column: 8, "the bare word g (quote strings: \"g\")")
        expectSyntax("Name = \"g\"\n", line: 1, column: 1, "unexpected character 'N' (keys are lower case)")
        expectSyntax("name = \"g\n", line: 1, column: 8, "unterminated string")
        expectSyntax("name = 'g", line: 1, column: 8, "unterminated string")
        expectSyntax("a = \"x\\\n\"", line: 1, column: 7, "unterminated string")
        expectSyntax("name = \"g\\q\"", line: 1, column: 10, "invalid character after backslash")
        expectSyntax("name = \"g\\x4\"", line: 1, column: 10, "\\x needs two hex digits")
        expectSyntax("name = \"g\\400\"", line: 1, column: 10, "above \\377")
        expectSyntax("name = \"a\\0b\"", line: 1, column: 10, "strings cannot contain NUL")
        expectSyntax("name = \"a\\x00\"", line: 1, column: 10, "strings cannot contain NUL")
        expectSyntax("name = \"a\u{0}\"", line: 1, column: 8, "strings cannot contain NUL")
        expectSyntax("name = \"\\xff\"", line: 1, column: 8, "not valid UTF-8")
        expectSyntax("x = 1\n\u{0}", line: 2, column: 1, "unexpected NUL byte")
        expectSyntax("cpus = [\"0\" \"1\"]", line: 1, column: 13, "expected ',' or ']' in the list of \"cpus\"")
        expectSyntax("cpus = [,]", line: 1, column: 9, "expected a value for \"cpus\", got ','")
        expectSyntax("cpus = [\"0\",,]", line: 1, column: 13, "expected a value")
        expectSyntax("cpus = [\"0\"", line: 1, column: 12, "got the end of the file")
        expectSyntax("cpus = \n[\"0\"]", line: 1, column: 8, "expected a value")
        expectSyntax("= 1", line: 1, column: 1, "expected a key, got '='")
        expectSyntax("true = 1", line: 1, column: 1, "\"true\" is a value, not a key")
        expectSyntax("memory = -1", line: 1, column: 10, "looks like Python")
        expectSyntax("import os", line: 1, column: 8, "expected '=' or '+='")
        expectSyntax("kernel = \"/k\" + \"x\"", line: 1, column: 15, "looks like Python")
        expectSyntax("a = " + String(repeating: "[", count: 17) + String(repeating: "]", count: 17),
                     line: 1, column: 21, "nested more than 16 deep")
        expectSyntax("a = 1\nb = 2\n\n  c = @", line: 4, column: 7, "unexpected character '@'")
        expectSyntax("a = 1\nb = \u{80}", line: 2, column: 5, "unexpected byte 0xc2")  // UTF-8 C2 80
    }

    @Test func overrideErrorsNameTheCommandLine() {
        guard let e = xlError(Self.head, overrides: ["memory=64", "vcpus=lots"]) else { return }
        #expect(e.description == "command line:2:7: syntax error: expected a value for \"vcpus\", got the bare word lots (quote strings: \"lots\")")
        guard let f = xlError(Self.head, overrides: ["memory=\"lots\""]) else { return }
        #expect(f.description == "command line:1: memory: expected a number of MiB, got \"lots\"")
    }

    @Test func tooLargeIsRefusedBeforeParsing() {
        let big = [UInt8](repeating: UInt8(ascii: "#"), count: XLConfig.maximumFileSize + 1)
        #expect(throws: XLConfigError.self) {
            try XLConfig.parse(big, source: "big.cfg", directory: "/")
        }
        do {
            _ = try XLConfig.parse(big, source: "big.cfg", directory: "/")
        } catch {
            #expect(error.kind == .unreadable)
            #expect(error.description == "big.cfg: larger than 1 MiB; not an xl.cfg")
        }
    }

    @Test func quotedValuesShowSafelyAndShort() {
        guard let e = xlError(Self.head + "memory = \"a\\nb\"") else { return }
        #expect(e.description == "guest.cfg:4: memory: expected a number of MiB, got \"a?b\"")
        guard let long = xlError(Self.head + "memory = \"" + String(repeating: "9x", count: 1000) + "\"") else { return }
        #expect(long.description.hasSuffix("got \"" + String(repeating: "9x", count: 32) + "…\""))
    }
}
