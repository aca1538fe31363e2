@testable import HostOS
import Testing

@Suite("ACPIMADT parser")
struct ACPIMADTTests {
    typealias F = HostCPUFixture

    /// Two local APICs and one x2APIC, around an I/O APIC.
    static let sample: [UInt8] = F.table(
        [0, 8, 7, 0x20] + F.le32(1)                          // ACPI 7, APIC 0x20, enabled
        + [1, 12, 0, 0] + F.le32(0xFEC0_0000) + F.le32(0)    // I/O APIC
        + [0, 8, 3, 0x22] + F.le32(2)                        // ACPI 3, APIC 0x22, online-capable
        + [9, 16, 0, 0] + F.le32(0x1_0005) + F.le32(3) + F.le32(0x8000_0001))

    @Test func parsesHeaderAndProcessors() throws {
        let m = try ACPIMADT.parse(Self.sample)
        #expect(m.header.signature == "APIC")
        #expect(Int(m.header.length) == Self.sample.count)
        #expect(m.header.revision == 5)
        #expect(m.header.oemID == "PETREL" && m.header.oemTableID == "TESTMADT")
        #expect(m.localAPICAddress == 0xFEE0_0000 && m.flags == 1)
        #expect(m.checksumValid)
        #expect(m.otherEntryTypes == [1])
        #expect(m.processors == [
            .init(kind: .localAPIC, acpiID: 7, apicID: 0x20, enabled: true, onlineCapable: false),
            .init(kind: .localAPIC, acpiID: 3, apicID: 0x22, enabled: false, onlineCapable: true),
            .init(kind: .localX2APIC, acpiID: 0x8000_0001, apicID: 0x1_0005, enabled: true, onlineCapable: true),
        ])
        #expect(m.processor(apicID: 0x22)?.acpiID == 3)
        #expect(m.processor(acpiID: 7)?.apicID == 0x20)
        #expect(m.processor(apicID: 7) == nil)
        #expect(m.processor(acpiID: 0x20) == nil)
    }

    @Test func anEnabledEntryWinsADuplicateId() throws {
        let b = F.table([0, 8, 1, 4] + F.le32(0) + [9, 16, 0, 0] + F.le32(4) + F.le32(1) + F.le32(99))
        #expect(try ACPIMADT.parse(b).processor(apicID: 4)?.acpiID == 99)
    }

    @Test func theRealMachinesShapeParses() throws {
        // This machine's table (Firecracker): one I/O APIC, two enabled local APICs.
        let b = F.table([1, 12, 0, 0] + F.le32(0xFEC0_0000) + F.le32(0)
                        + [0, 8, 0, 0] + F.le32(1) + [0, 8, 1, 1] + F.le32(1))
        let m = try ACPIMADT.parse(b)
        #expect(m.processors.map(\.apicID) == [0, 1] && m.processors.allSatisfy(\.enabled))
    }

    @Test func emptyEntryListIsFine() throws {
        #expect(try ACPIMADT.parse(F.table([])).processors.isEmpty)
    }

    @Test func wrongSignature() {
        let b = F.table([], signature: "APIX")
        #expect(throws: MADTError.badSignature(Array("APIX".utf8))) { try ACPIMADT.parse(b) }
        let facp = F.table([], signature: "FACP")
        #expect(throws: MADTError.badSignature(Array("FACP".utf8))) { try ACPIMADT.parse(facp) }
    }

    @Test func tooShortForTheFixedPart() {
        for n in [0, 1, 4, 36, 43] {
            #expect(throws: MADTError.tooShort(count: n)) { try ACPIMADT.parse(Array(Self.sample.prefix(n))) }
        }
    }

    @Test func truncatedOrPaddedTables() {
        let b = Self.sample
        // Cut short: the header says more than there is.
        #expect(throws: MADTError.lengthMismatch(declared: UInt32(b.count), actual: b.count - 5)) {
            try ACPIMADT.parse(Array(b.prefix(b.count - 5)))
        }
        // Padded: more bytes than the header says.
        #expect(throws: MADTError.lengthMismatch(declared: UInt32(b.count), actual: b.count + 3)) {
            try ACPIMADT.parse(b + [0, 0, 0])
        }
        // A length smaller than the fixed part.
        var small = b
        small[4] = 20; small[5] = 0; small[6] = 0; small[7] = 0
        #expect(throws: MADTError.lengthMismatch(declared: 20, actual: b.count)) { try ACPIMADT.parse(small) }
        var huge = b
        huge[7] = 0xFF
        #expect(throws: MADTError.self) { try ACPIMADT.parse(huge) }
    }

    @Test func zeroAndShortEntryLengths() {
        #expect(throws: MADTError.entryTooShort(offset: 44, type: 0, length: 0, minimum: 2)) {
            try ACPIMADT.parse(F.table([0, 0, 0, 0, 0, 0, 0, 0]))
        }
        #expect(throws: MADTError.entryTooShort(offset: 44, type: 5, length: 1, minimum: 2)) {
            try ACPIMADT.parse(F.table([5, 1]))
        }
        #expect(throws: MADTError.entryTooShort(offset: 44, type: 0, length: 6, minimum: 8)) {
            try ACPIMADT.parse(F.table([0, 6, 1, 2, 1, 0]))
        }
        #expect(throws: MADTError.entryTooShort(offset: 52, type: 9, length: 12, minimum: 16)) {
            try ACPIMADT.parse(F.table([0, 8, 1, 2] + F.le32(1) + [9, 12, 0, 0] + F.le32(5) + F.le32(1)))
        }
    }

    @Test func entriesPastTheEnd() {
        #expect(throws: MADTError.entryPastEnd(offset: 44, type: 9, length: 16, tableLength: 52)) {
            try ACPIMADT.parse(F.table([9, 16, 0, 0, 1, 0, 0, 0]))
        }
        // One stray byte: not even a length.
        #expect(throws: MADTError.entryPastEnd(offset: 52, type: 0xAB, length: nil, tableLength: 53)) {
            try ACPIMADT.parse(F.table([0, 8, 1, 2] + F.le32(1) + [0xAB]))
        }
    }

    @Test func errorsDescribeThemselves() {
        let e: [MADTError] = [.tooShort(count: 3), .badSignature([0x41, 0x42, 0x43, 0x44]),
                              .lengthMismatch(declared: 100, actual: 60),
                              .entryTooShort(offset: 44, type: 0, length: 0, minimum: 2),
                              .entryPastEnd(offset: 44, type: 9, length: 16, tableLength: 52)]
        #expect(e.map(\.description).allSatisfy { $0.contains("MADT") })
    }

    @Test func checksumIsCheckedNotEnforced() throws {
        var b = Self.sample
        b[b.count - 1] ^= 0x40
        let m = try ACPIMADT.parse(b)
        #expect(!m.checksumValid)
        #expect(m.processors.count == 3)
    }

    /// Every prefix and many corruptions of a valid table: parse or throw, never trap.
    @Test func corruptedTablesNeverTrap() {
        let b = F.madt(HostCPUFixture.bigCPUs)
        var parsed = 0, thrown = 0
        for n in stride(from: 0, to: b.count, by: 7) {
            var cut = Array(b.prefix(n))
            if cut.count >= 8 { cut[4..<8] = F.le32(UInt32(n))[...] }
            do { _ = try ACPIMADT.parse(cut); parsed += 1 } catch { thrown += 1 }
        }
        var rng = SplitMix(seed: 0x5EED)
        for _ in 0..<2000 {
            var c = b
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let i = 44 + Int(rng.next() % UInt64(c.count - 44))
                c[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            do { _ = try ACPIMADT.parse(c); parsed += 1 } catch { thrown += 1 }
        }
        #expect(parsed > 0 && thrown > 0)
    }
}

/// A small deterministic generator, so failures replay.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
