import Testing
@testable import Toolstack

@Suite("xl.cfg: random and mutated files never trap")
struct XLConfigFuzzTests {
    static let good = Array("""
        # fuzz seed
        name = "fuzz"; type = "pvh"
        kernel = "k.elf"
        ramdisk = 'r.img'
        extra = "console=hvc0 \\x41\\101 \\"q\\""
        extra += " more"
        memory = 0x40
        maxmem = 128
        vcpus = 2
        maxvcpus = 4
        cpus = [ "0-3,^1",
                 "all", # comment
                 "2", ]
        on_poweroff = "destroy"
        on_reboot = "restart"
        on_crash = "preserve"
        max_grant_frames = 32
        max_event_channels = 1023
        privileged = false
        uuid = "01234567-89ab-cdef-0123-456789abcdef"
        nested = [ [ "a", 1 ], [] ]
        """.utf8)

    /// Bytes the grammar cares about, so mutations reach deep states more often than noise would.
    static let interesting: [UInt8] = Array("=+[],;#\"'\\\n\r\t 0x1-^a".utf8) + [0, 0x7F, 0x80, 0xC3, 0xFF]

    /// Must return or throw XLConfigError; a trap fails the whole run.
    static func survive(_ bytes: [UInt8], overrides: [String] = []) -> Bool {
        do {
            let c = try XLConfig.parse(bytes, source: "fuzz.cfg", directory: "/f", overrides: overrides, workingDirectory: "/w")
            // Whatever parsed must satisfy the documented bounds.
            #expect(c.memoryMiB >= RunOptions.minimumMemoryMiB && c.memoryMiB <= c.maxMemoryMiB)
            #expect(c.maxMemoryMiB <= XLConfig.maximumMemoryMiB)
            #expect(c.vcpus >= 1 && c.vcpus <= c.maxVCPUs && c.maxVCPUs <= XLConfig.maximumVCPUs)
            #expect(c.kernel.hasPrefix("/") && !c.name.isEmpty)
            #expect(c.uuid == nil || c.uuid?.count == 16)
            return true
        } catch {
            #expect(!error.description.isEmpty)
            #expect(!error.description.contains("\n"), "multi-line error: \(error)")
            return false
        }
    }

    @Test func theSeedParses() {
        #expect(Self.survive(Self.good))
    }

    @Test func mutationsOfAGoodFile() {
        var rng = SplitMix64(state: 0xC0FF_EE00)
        var parsed = 0
        for _ in 0..<3000 {
            var b = Self.good
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !b.isEmpty {
                let p = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: b[p] = Self.interesting.randomElement(using: &rng) ?? 0
                case 1: b[p] = UInt8.random(in: 0...255, using: &rng)
                case 2: b.insert(Self.interesting.randomElement(using: &rng) ?? 0, at: p)
                case 3: b.removeSubrange(p..<min(b.count, p + Int.random(in: 1...8, using: &rng)))
                default: b = Array(b.prefix(p))
                }
            }
            if Self.survive(b) { parsed += 1 }
        }
        // Some mutations land in comments or keep the file valid; most break it.
        #expect(parsed > 0 && parsed < 3000)
    }

    @Test func randomBytes() {
        var rng = SplitMix64(state: 0xBAD_F00D)
        for _ in 0..<2000 {
            let n = Int.random(in: 0...200, using: &rng)
            let fromInteresting = Bool.random(using: &rng)
            let b = (0..<n).map { _ in
                fromInteresting ? (Self.interesting.randomElement(using: &rng) ?? 0) : UInt8.random(in: 0...255, using: &rng)
            }
            _ = Self.survive(b)
        }
    }

    @Test func randomOverrides() {
        var rng = SplitMix64(state: 0x0E77_1DE5)
        let keys = ["memory", "maxmem", "vcpus", "maxvcpus", "cpus", "name", "kernel", "extra", "uuid", "privileged", "on_crash"]
        let values = ["0", "1", "64", "0x10", "-1", "\"\"", "\"x\"", "[", "[]", "[\"0\",]", "true", "\"0-3,^2\"", "999999999999999999999"]
        for _ in 0..<1000 {
            let o = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                (keys.randomElement(using: &rng) ?? "memory") + (Bool.random(using: &rng) ? "=" : "+=")
                    + (values.randomElement(using: &rng) ?? "1")
            }
            _ = Self.survive(Self.good, overrides: o)
        }
    }

    @Test func pathologicalShapes() {
        let deep = Array(("a = " + String(repeating: "[", count: 100_000)).utf8)
        #expect(!Self.survive(deep))
        let longList = Array(("a = [" + String(repeating: "\"x\",\n", count: 50_000) + "]\nname=\"n\"\nkernel=\"/k\"").utf8)
        #expect(Self.survive(longList))
        let manyLines = [UInt8](repeating: UInt8(ascii: "\n"), count: XLConfig.maximumFileSize)
        #expect(!Self.survive(manyLines))  // parses, but lacks a name
        let longString = Array(("name = \"" + String(repeating: "n", count: 500_000) + "\"\nkernel=\"/k\"").utf8)
        #expect(!Self.survive(longString))
    }
}
