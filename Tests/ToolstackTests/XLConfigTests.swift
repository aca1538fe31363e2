import Hypervisor
import Testing
@testable import Toolstack

/// Parses `text` as the file /etc/petrel/guest.cfg, overrides typed in /home/u.
func xlParse(_ text: String, overrides: [String] = []) throws(XLConfigError) -> XLConfig {
    try XLConfig.parse(Array(text.utf8), source: "guest.cfg", directory: "/etc/petrel", overrides: overrides,
                       workingDirectory: "/home/u")
}

/// The error parsing `text` gives (nil, and a failed expectation, if it parses).
func xlError(_ text: String, overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) -> XLConfigError? {
    do {
        let c = try xlParse(text, overrides: overrides)
        Issue.record("expected an error, parsed \(c)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("xl.cfg: good files")
struct XLConfigTests {
    static let minimal = """
        name = "g"
        type = "pvh"
        kernel = "/boot/k.elf"
        """

    @Test func minimalFileTakesXLDefaults() throws {
        let c = try xlParse(Self.minimal)
        #expect(c.name == "g")
        #expect(c.type == .pvh)
        #expect(c.kernel == "/boot/k.elf")
        #expect(c.ramdisk == nil)
        #expect(c.cmdline == "")
        #expect(c.memoryMiB == 32 && c.maxMemoryMiB == 32)
        #expect(c.vcpus == 1 && c.maxVCPUs == 1)
        #expect(c.cpus == nil)
        #expect(c.onPoweroff == .destroy && c.onReboot == .restart && c.onCrash == .destroy && c.onWatchdog == .destroy)
        #expect(c.maxGrantFrames == 32 && c.maxEventChannels == 1023)
        #expect(c.privileged == false)
        #expect(c.uuid == nil)
        #expect(c.warnings.isEmpty)
    }

    @Test func everyKey() throws {
        let c = try xlParse("""
            # A guest with every key Petrel reads.
            name = "every-key"   # trailing comment
            type = 'pvh'
            kernel = "kernels/guest.elf"
            ramdisk = "/boot/initrd.img"
            cmdline = "console=hvc0 quiet"
            memory = 0x100
            maxmem = 512
            vcpus = 2
            maxvcpus = 4
            cpus = "0-3,^1"
            on_poweroff = "preserve"
            on_reboot = "destroy"
            on_watchdog = "restart"
            on_crash = "restart"
            max_grant_frames = 64
            max_event_channels = 2047
            privileged = true
            uuid = "01234567-89ab-CDEF-0123-456789abcdef"
            """)
        #expect(c.name == "every-key")
        #expect(c.kernel == "/etc/petrel/kernels/guest.elf")
        #expect(c.ramdisk == "/boot/initrd.img")
        #expect(c.cmdline == "console=hvc0 quiet")
        #expect(c.memoryMiB == 256 && c.maxMemoryMiB == 512)
        #expect(c.vcpus == 2 && c.maxVCPUs == 4)
        #expect(c.cpus == .uniform(CPUSet([0, 2, 3])))
        #expect(c.onPoweroff == .preserve && c.onReboot == .destroy && c.onWatchdog == .restart && c.onCrash == .restart)
        #expect(c.maxGrantFrames == 64 && c.maxEventChannels == 2047)
        #expect(c.privileged)
        #expect(c.uuid == [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF])
        #expect(c.warnings.isEmpty, "\(c.warnings)")
    }

    @Test func semicolonsSeparateSettingsAndTheLastLineNeedsNoNewline() throws {
        let c = try xlParse("name = \"g\"; type = \"pvh\";kernel=\"/k\" ; memory = 64")
        #expect(c.name == "g" && c.kernel == "/k" && c.memoryMiB == 64)
    }

    @Test func crlfAndCommentAtEndOfFile() throws {
        let c = try xlParse("name = \"g\"\r\ntype = \"pvh\"\r\nkernel = \"/k\"\r\n# done")
        #expect(c.name == "g" && c.kernel == "/k")
    }

    @Test func listsSpanLinesWithCommentsAndATrailingComma() throws {
        let c = try xlParse(Self.minimal + """

            maxvcpus = 3
            cpus = [
                "0",        # vCPU 0
                "1-2",

                "all",
            ]
            """)
        #expect(c.cpus == .perVCPU([CPUSet([0]), CPUSet([1, 2]), .all]))
        #expect(c.cpus?.cpus(forVCPU: 1) == CPUSet([1, 2]))
        #expect(c.cpus?.cpus(forVCPU: 7) == .all)
    }

    @Test func listGrammarKeepsNestingAndEmptyLists() throws {
        let settings = try XLConfigParser.parse(Array("a = [ ]\nb = [[\"x\", 1], [], \"y\"]\nc=[\n]".utf8), source: "t")
        #expect(settings.map(\.key) == ["a", "b", "c"])
        #expect(settings[0].value.list == [])
        let b = try #require(settings[1].value.list)
        #expect(b.count == 3)
        #expect(b[0].list?.map(\.atom) == ["x", "1"])
        #expect(b[1].list == [])
        #expect(b[2].atom == "y")
        #expect(settings[2].value.list == [])
    }

    @Test func bothQuoteStylesAndEscapes() throws {
        let c = try xlParse(Self.minimal + #"""

            cmdline = 'a "double" \'single\' back\\slash \t tab \x41\101 \n nl'
            """#)
        #expect(c.cmdline == "a \"double\" 'single' back\\slash \t tab AA \n nl")
        let d = try xlParse(Self.minimal + "\ncmdline = \"it's \\\"x\\\" \\a\\b\\f\\r\\v\"")
        #expect(d.cmdline == "it's \"x\" \u{07}\u{08}\u{0C}\r\u{0B}")
    }

    @Test func utf8StringsPassThrough() throws {
        let c = try xlParse(Self.minimal + "\nextra = \"héllo ✓\"")
        #expect(c.cmdline == "héllo ✓")
    }

    @Test func numbersFollowStrtolBaseZero() throws {
        #expect(try xlParse(Self.minimal + "\nmemory = 0x40").memoryMiB == 64)
        #expect(try xlParse(Self.minimal + "\nmemory = 0X40").memoryMiB == 64)
        #expect(try xlParse(Self.minimal + "\nmemory = 0100").memoryMiB == 64)  // octal, as libxlu reads it
        #expect(try xlParse(Self.minimal + "\nmemory = \"128\"").memoryMiB == 128)  // atoms are untyped
        #expect(try xlParse(Self.minimal + "\nmemory = \" 96\"").memoryMiB == 96)
        #expect(XLConfigReader.strtol("-9223372036854775808") == Int64.min)
        #expect(XLConfigReader.strtol("9223372036854775808") == nil)
        #expect(XLConfigReader.strtol("0") == 0)
        #expect(XLConfigReader.strtol("0x") == nil)
        #expect(XLConfigReader.strtol("08") == nil)
        #expect(XLConfigReader.strtol("") == nil)
    }

    @Test func booleansAcceptTrueFalseAndNumbers() throws {
        for (text, value) in [("true", true), ("false", false), ("1", true), ("0", false), ("\"true\"", true), ("2", true)] {
            #expect(try xlParse(Self.minimal + "\nprivileged = \(text)").privileged == value, "\(text)")
        }
    }

    @Test func laterSettingWins() throws {
        let c = try xlParse(Self.minimal + "\nmemory = 64\nmemory = 128\nname = \"second\"")
        #expect(c.memoryMiB == 128)
        #expect(c.name == "second")
    }

    @Test func plusEqualsJoinsStringsAndLists() throws {
        let c = try xlParse(Self.minimal + """

            extra = "console=hvc0"
            extra += " quiet"
            cpus = ["0"]
            maxvcpus = 2
            cpus += ["1"]
            """)
        #expect(c.cmdline == "console=hvc0 quiet")
        #expect(c.cpus == .perVCPU([CPUSet([0]), CPUSet([1])]))
        // With nothing before it, += sets the key.
        #expect(try xlParse(Self.minimal + "\nextra += \"x\"").cmdline == "x")
    }

    @Test func cmdlineRootAndExtraFollowXL() throws {
        #expect(try xlParse(Self.minimal + "\nroot = \"/dev/xvda1\"\nextra = \"ro quiet\"").cmdline == "root=/dev/xvda1 ro quiet")
        #expect(try xlParse(Self.minimal + "\nroot = \"/dev/xvda1\"").cmdline == "root=/dev/xvda1")
        #expect(try xlParse(Self.minimal + "\nextra = \"ro\"").cmdline == "ro")
        let c = try xlParse(Self.minimal + "\ncmdline = \"wins\"\nextra = \"loses\"")
        #expect(c.cmdline == "wins")
        let w = try #require(c.warnings.first)
        #expect(w.key == "cmdline" && w.line == 4)
        #expect(w.description == "guest.cfg:4: ignoring root= and extra= in favour of cmdline=")
    }

    @Test func memoryAndVCPUDefaultsFollowEachOther() throws {
        let onlyMax = try xlParse(Self.minimal + "\nmaxmem = 256\nmaxvcpus = 3")
        #expect(onlyMax.memoryMiB == 256 && onlyMax.maxMemoryMiB == 256)
        #expect(onlyMax.vcpus == 3 && onlyMax.maxVCPUs == 3)
        let onlyMemory = try xlParse(Self.minimal + "\nmemory = 48\nvcpus = 2")
        #expect(onlyMemory.maxMemoryMiB == 48 && onlyMemory.maxVCPUs == 2)
    }

    @Test func relativePathsResolveAgainstTheConfigDirectory() throws {
        let c = try xlParse("name=\"g\"\ntype=\"pvh\"\nkernel = \"./k.elf\"\nramdisk = \"../initrd\"")
        #expect(c.kernel == "/etc/petrel/k.elf")
        #expect(c.ramdisk == "/etc/petrel/../initrd")
        #expect(ConfigPath.absolute("a", in: "/") == "/a")
        #expect(ConfigPath.directory(of: "/guest.cfg") == "/")
        #expect(ConfigPath.directory(of: "/a/b/guest.cfg") == "/a/b")
    }

    @Test func overridesApplyAfterTheFileAndTheirPathsUseTheWorkingDirectory() throws {
        let c = try xlParse(Self.minimal + "\nmemory = 64\nextra = \"a\"",
                            overrides: ["memory=128", "extra += \" b\"", "kernel=\"other.elf\"", "vcpus=2; maxvcpus=2"])
        #expect(c.memoryMiB == 128)
        #expect(c.cmdline == "a b")
        #expect(c.kernel == "/home/u/other.elf")
        #expect(c.vcpus == 2)
    }

    @Test func unknownKeysAndAMissingTypeWarn() throws {
        let c = try xlParse("name = \"g\"\nkernel = \"/k\"\nvif = [ 'bridge=xenbr0' ]\nfoo = 1\n", overrides: ["bar=2"])
        #expect(c.warnings.count == 4)
        let vif = try #require(c.warnings.first { $0.key == "vif" })
        #expect(vif.line == 3)
        #expect(vif.description == "guest.cfg:3: unknown key \"vif\" ignored")
        #expect(c.warnings.contains { $0.key == "foo" && $0.line == 4 })
        #expect(c.warnings.contains { $0.description == "command line:1: unknown key \"bar\" ignored" })
        let type = try #require(c.warnings.first { $0.key == "type" })
        #expect(type.location == nil)
        #expect(type.description.hasPrefix("guest.cfg: no \"type\" given"))
    }

    @Test func perVCPUListsLongerThanMaxVCPUsAreCutWithAWarning() throws {
        let c = try xlParse(Self.minimal + "\nvcpus = 2\ncpus = [\"0\", \"1\", \"2\"]")
        #expect(c.cpus == .perVCPU([CPUSet([0]), CPUSet([1])]))
        #expect(c.warnings.map(\.key) == ["cpus"])
    }

    @Test func quoteRoundTrips() throws {
        for s in ["plain", "with \"quotes\" and 'single'", "back\\slash", "tab\tnew\nline\r", "\u{01}\u{7F}ctl", "ünï✓"] {
            let c = try xlParse(Self.minimal + "\ncmdline = " + XLConfig.quote(s))
            #expect(c.cmdline == s)
        }
    }

    @Test func mapsToDomainConfigAndRunOptions() throws {
        let c = try xlParse(Self.minimal + """

            memory = 64
            maxmem = 128
            vcpus = 1
            maxvcpus = 2
            max_grant_frames = 16
            max_event_channels = 255
            privileged = 1
            uuid = "00112233-4455-6677-8899-aabbccddeeff"
            extra = "test=console"
            ramdisk = "r.img"
            """)
        let d = c.domainConfig
        #expect(d.name == "g")
        #expect(d.memoryBytes == 64 << 20 && d.maxMemoryBytes == 128 << 20)
        #expect(d.vcpus == 2)
        #expect(d.privileged)
        #expect(d.maxGrantFrames == 16 && d.maxEventChannels == 255)
        #expect(d.handle == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        let r = c.runOptions
        #expect(r.kernelPath == "/boot/k.elf" && r.initrdPath == "/etc/petrel/r.img")
        #expect(r.memoryMiB == 64 && r.cmdline == "test=console" && r.name == "g" && r.vcpus == 2)
        let rd = r.domainConfig
        #expect(rd.maxMemoryBytes == d.maxMemoryBytes && rd.handle == d.handle && rd.privileged)
        #expect(rd.maxGrantFrames == 16 && rd.maxEventChannels == 255)
        // Without a uuid the handle is random, 16 bytes.
        #expect(try xlParse(Self.minimal).domainConfig.handle.count == 16)
    }
}
