/// The ACPI Multiple APIC Description Table ("APIC", ACPI 6.5 §5.2.12), parsed from its bytes
/// (Linux exports it as /sys/firmware/acpi/tables/APIC, readable by root only). Petrel reads
/// the processor entries: each names a processor by its ACPI processor id and its APIC id,
/// which are different numbering schemes and also differ from the OS's CPU index.
///
/// Every length in the table is checked before it is used: a truncated or corrupt table is a
/// `MADTError`, never a trap. A bad checksum is reported (`checksumValid`) but not refused,
/// as Linux only warns about it.
public struct ACPIMADT: Sendable, Equatable {
    /// The standard ACPI table header (36 bytes).
    public struct Header: Sendable, Equatable {
        public var signature: String
        public var length: UInt32
        public var revision: UInt8
        public var checksum: UInt8
        public var oemID: String
        public var oemTableID: String
        public var oemRevision: UInt32
        public var creatorID: UInt32
        public var creatorRevision: UInt32
    }

    /// One processor entry: Processor Local APIC (type 0) or Processor Local x2APIC (type 9).
    public struct Processor: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case localAPIC, localX2APIC }
        public var kind: Kind
        /// Type 0: the ACPI Processor ID (one byte); type 9: the ACPI Processor UID.
        public var acpiID: UInt32
        /// Type 0: the 8-bit local APIC id; type 9: the 32-bit x2APIC id.
        public var apicID: UInt32
        /// Flags bit 0: the processor is usable now.
        public var enabled: Bool
        /// Flags bit 1 (ACPI 6.3+): a disabled processor that may be brought online later.
        public var onlineCapable: Bool
        public init(kind: Kind, acpiID: UInt32, apicID: UInt32, enabled: Bool, onlineCapable: Bool) {
            self.kind = kind; self.acpiID = acpiID; self.apicID = apicID
            self.enabled = enabled; self.onlineCapable = onlineCapable
        }
    }

    public static let signature = "APIC"
    public static let headerSize = 36
    /// Header, then the local interrupt controller address and the MADT flags.
    public static let entriesOffset = 44
    public enum EntryType {
        public static let localAPIC: UInt8 = 0
        public static let localX2APIC: UInt8 = 9
    }

    public var header: Header
    /// The 32-bit physical address of each processor's local APIC.
    public var localAPICAddress: UInt32
    public var flags: UInt32
    /// The bytes of the table sum to zero mod 256.
    public var checksumValid: Bool
    /// Processor entries, in table order.
    public var processors: [Processor]
    /// Types of the entries that are not processors (I/O APICs, overrides, NMI sources …).
    public var otherEntryTypes: [UInt8]

    /// The processor entry for `apicID` (an enabled one first, if both kinds list it).
    public func processor(apicID: UInt32) -> Processor? {
        let matches = processors.filter { $0.apicID == apicID }
        return matches.first(where: \.enabled) ?? matches.first
    }

    /// The processor entry for ACPI processor id / UID `acpiID` (an enabled one first).
    public func processor(acpiID: UInt32) -> Processor? {
        let matches = processors.filter { $0.acpiID == acpiID }
        return matches.first(where: \.enabled) ?? matches.first
    }

    /// Parses a whole MADT (the bytes of /sys/firmware/acpi/tables/APIC).
    public static func parse(_ b: [UInt8]) throws(MADTError) -> ACPIMADT {
        guard b.count >= entriesOffset else { throw .tooShort(count: b.count) }
        let sig = Array(b[0..<4])
        guard sig == Array(signature.utf8) else { throw .badSignature(sig) }
        let length = u32(b, 4)
        guard Int(length) >= entriesOffset, Int(length) == b.count else {
            throw .lengthMismatch(declared: length, actual: b.count)
        }
        let header = Header(signature: signature, length: length, revision: b[8], checksum: b[9],
                            oemID: text(b[10..<16]), oemTableID: text(b[16..<24]),
                            oemRevision: u32(b, 24), creatorID: u32(b, 28), creatorRevision: u32(b, 32))
        let checksumValid = b.reduce(UInt8(0), &+) == 0

        var processors: [Processor] = []
        var others: [UInt8] = []
        var offset = entriesOffset
        while offset < b.count {
            // Every entry starts with a type byte and a length byte.
            guard offset + 2 <= b.count else {
                throw .entryPastEnd(offset: offset, type: b[offset], length: nil, tableLength: b.count)
            }
            let type = b[offset], len = Int(b[offset + 1])
            guard len >= 2 else { throw .entryTooShort(offset: offset, type: type, length: len, minimum: 2) }
            guard offset + len <= b.count else {
                throw .entryPastEnd(offset: offset, type: type, length: len, tableLength: b.count)
            }
            switch type {
            case EntryType.localAPIC:
                guard len >= 8 else { throw .entryTooShort(offset: offset, type: type, length: len, minimum: 8) }
                let f = u32(b, offset + 4)
                processors.append(Processor(kind: .localAPIC, acpiID: UInt32(b[offset + 2]),
                                            apicID: UInt32(b[offset + 3]),
                                            enabled: f & 1 != 0, onlineCapable: f & 2 != 0))
            case EntryType.localX2APIC:
                guard len >= 16 else { throw .entryTooShort(offset: offset, type: type, length: len, minimum: 16) }
                let f = u32(b, offset + 8)
                processors.append(Processor(kind: .localX2APIC, acpiID: u32(b, offset + 12),
                                            apicID: u32(b, offset + 4),
                                            enabled: f & 1 != 0, onlineCapable: f & 2 != 0))
            default:
                others.append(type)
            }
            offset += len
        }
        return ACPIMADT(header: header, localAPICAddress: u32(b, 36), flags: u32(b, 40),
                        checksumValid: checksumValid, processors: processors, otherEntryTypes: others)
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    private static func text(_ s: ArraySlice<UInt8>) -> String {
        String(decoding: s.prefix { $0 != 0 }, as: UTF8.self).trimmingSpaces
    }
}

/// Why a MADT could not be parsed.
public enum MADTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the header and the two MADT fields (44).
    case tooShort(count: Int)
    /// The first four bytes are not "APIC".
    case badSignature([UInt8])
    /// The header's length is not the number of bytes there are (truncated or padded table),
    /// or is smaller than the fixed part.
    case lengthMismatch(declared: UInt32, actual: Int)
    /// An entry's length byte is smaller than its type requires (0 would loop forever).
    case entryTooShort(offset: Int, type: UInt8, length: Int, minimum: Int)
    /// An entry runs past the end of the table (`length` nil: not even its length byte fits).
    case entryPastEnd(offset: Int, type: UInt8, length: Int?, tableLength: Int)

    public var description: String {
        switch self {
        case .tooShort(let n):
            "MADT too short: \(n) bytes, the fixed part alone is \(ACPIMADT.entriesOffset)"
        case .badSignature(let s):
            "not a MADT: signature \(s.map { String($0, radix: 16) }) is not \"APIC\""
        case .lengthMismatch(let declared, let actual):
            "MADT length \(declared) in its header, but \(actual) bytes were read"
        case .entryTooShort(let off, let type, let len, let min):
            "MADT entry type \(type) at offset \(off) has length \(len), needs at least \(min)"
        case .entryPastEnd(let off, let type, let len, let total):
            "MADT entry type \(type) at offset \(off) (length \(len.map(String.init) ?? "missing")) runs past the table's end (\(total) bytes)"
        }
    }
}

fileprivate extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        while s.first == " " { s = s.dropFirst() }
        return String(s)
    }
}
