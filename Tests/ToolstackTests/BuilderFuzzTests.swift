import GuestMemory
import Testing
import XenABI
@testable import Toolstack

/// SplitMix64: a tiny deterministic PRNG, so every run corrupts the same way.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Domain builder: corrupted images never trap")
struct BuilderFuzzTests {
    /// Values that stress bounds checks when written over a header field.
    static let nasty: [UInt64] = [0, 1, 3, 4, 7, 8, 12, 0x38, 0xFFF, 0x1000, 0x7FFF_FFFF, 0x8000_0000,
                                  0xFFFF_FFFF, 0x1_0000_0000, UInt64(Int.max), UInt64.max - 0xFFF, UInt64.max]

    static func corrupt(_ base: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = base
        // Most structure lives in the first few hundred bytes: aim there more often.
        func position() -> Int {
            let limit = Bool.random(using: &rng) ? min(b.count, 512) : b.count
            return Int.random(in: 0..<max(limit, 1), using: &rng)
        }
        for _ in 0..<Int.random(in: 1...3, using: &rng) where !b.isEmpty {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:  // flip a few bits
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let p = position()
                    if p < b.count { b[p] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng) }
                }
            case 1:  // random bytes
                let p = position()
                for i in p..<min(b.count, p + Int.random(in: 1...16, using: &rng)) { b[i] = UInt8.random(in: 0...255, using: &rng) }
            case 2:  // an extreme value over a (probably) field-aligned spot
                let width = [2, 4, 8].randomElement(using: &rng) ?? 4
                let p = position() & ~(width - 1)
                var v = nasty.randomElement(using: &rng) ?? 0
                for i in p..<min(b.count, p + width) { b[i] = UInt8(truncatingIfNeeded: v); v >>= 8 }
            default:  // truncate
                b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            }
        }
        return b
    }

    @Test func randomCorruptionIsSuccessOrError() throws {
        let bases = [Fixture.elf64().write().bytes, Fixture.elf64SectionNotes().write().bytes,
                     Fixture.elf32().write().bytes, Fixture.elf32(machine: 62).write().bytes]
        let map = [
            HVMMemmapEntry(addr: 0, size: 4 << 20, type: .ram),
            HVMMemmapEntry(addr: 0x20_0000, size: 0x1000, type: .reserved),
        ]
        var rng = SplitMix64(state: 0x5EED_CAFE)
        var built = 0, parseErrors = 0, buildErrors = 0
        for i in 0..<5_000 {
            let bytes = Self.corrupt(bases[i % bases.count], &rng)
            let image: ELFImage
            do { image = try ELFImage(bytes: bytes, name: "fuzz") } catch { parseErrors += 1; continue }
            let mem = GuestPhysicalMemory()
            try mem.addRegion(at: GPA(0), size: 4 << 20, kind: .ram)
            let initrd = i % 3 == 0 ? PVHModule(bytes: [1, 2, 3], commandLine: "x") : nil
            do {
                _ = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "fuzz", initrd: initrd)
                built += 1
            } catch {
                buildErrors += 1
            }
        }
        // Typed throws guarantee every failure was a DomainBuildError; reaching here means no trap.
        #expect(built + parseErrors + buildErrors == 5_000)
        #expect(built > 0 && parseErrors > 0 && buildErrors > 0, "built \(built), parse errors \(parseErrors), build errors \(buildErrors)")
    }
}
