import XenABI

/// The `"Xen"` ELF notes a kernel carries (`XEN_ELFNOTE_*`, public/elfnote.h). Only
/// `PHYS32_ENTRY` drives a PVH build; the rest are decoded for logging and `petrel info`.
///
/// As in Xen's libelf, when a note appears twice the later one wins, numeric notes may be
/// 1, 2, 4 or 8 bytes (other sizes are ignored), and string notes end at the first NUL.
public struct XenNotes: Sendable, Equatable {
    /// `XEN_ELFNOTE_*` types.
    public enum NoteType {
        public static let entry: UInt32 = 1
        public static let hypercallPage: UInt32 = 2
        public static let virtBase: UInt32 = 3
        public static let paddrOffset: UInt32 = 4
        public static let xenVersion: UInt32 = 5
        public static let guestOS: UInt32 = 6
        public static let guestVersion: UInt32 = 7
        public static let loader: UInt32 = 8
        public static let features: UInt32 = 10
        public static let supportedFeatures: UInt32 = 17
        public static let phys32Entry: UInt32 = 18
    }
    public static let owner = "Xen"

    /// `XEN_ELFNOTE_PHYS32_ENTRY`: the 32-bit PVH entry point (low 32 bits of a 4- or 8-byte desc).
    public var phys32Entry: UInt32?
    /// `XEN_ELFNOTE_ENTRY` (PV virtual entry).
    public var entry: UInt64?
    /// `XEN_ELFNOTE_HYPERCALL_PAGE` (PV virtual address).
    public var hypercallPage: UInt64?
    /// `XEN_ELFNOTE_VIRT_BASE`.
    public var virtBase: UInt64?
    /// `XEN_ELFNOTE_PADDR_OFFSET`.
    public var paddrOffset: UInt64?
    /// `XEN_ELFNOTE_SUPPORTED_FEATURES` (XENFEAT_* bitmap).
    public var supportedFeatures: UInt64?
    /// `XEN_ELFNOTE_GUEST_OS`, e.g. "linux".
    public var guestOS: String?
    /// `XEN_ELFNOTE_GUEST_VERSION`.
    public var guestVersion: String?
    /// `XEN_ELFNOTE_XEN_VERSION`, e.g. "xen-3.0".
    public var xenVersion: String?
    /// `XEN_ELFNOTE_LOADER`, e.g. "generic".
    public var loader: String?
    /// `XEN_ELFNOTE_FEATURES`: '|'-separated feature names, '!' marking required ones.
    public var features: String?

    public init() {}

    /// Decodes the `"Xen"` notes among `notes`.
    init(_ notes: [ELFNote]) throws(DomainBuildError.Reason) {
        for note in notes where note.name == Self.owner {
            switch note.type {
            case NoteType.phys32Entry:
                // libelf reads the first 32-bit element of the descriptor.
                guard note.desc.count == 4 || note.desc.count == 8 else {
                    throw .badPVHEntryNote(descSize: UInt32(truncatingIfNeeded: note.desc.count))
                }
                phys32Entry = note.desc.le(UInt32.self, at: 0)
            case NoteType.entry: entry = Self.numeric(note.desc) ?? entry
            case NoteType.hypercallPage: hypercallPage = Self.numeric(note.desc) ?? hypercallPage
            case NoteType.virtBase: virtBase = Self.numeric(note.desc) ?? virtBase
            case NoteType.paddrOffset: paddrOffset = Self.numeric(note.desc) ?? paddrOffset
            case NoteType.supportedFeatures: supportedFeatures = Self.numeric(note.desc) ?? supportedFeatures
            case NoteType.guestOS: guestOS = Self.string(note.desc)
            case NoteType.guestVersion: guestVersion = Self.string(note.desc)
            case NoteType.xenVersion: xenVersion = Self.string(note.desc)
            case NoteType.loader: loader = Self.string(note.desc)
            case NoteType.features: features = Self.string(note.desc)
            default: break
            }
        }
    }

    /// A little-endian number of 1, 2, 4 or 8 bytes (libelf's `elf_note_numeric`).
    static func numeric(_ d: [UInt8]) -> UInt64? {
        switch d.count {
        case 1: UInt64(d[0])
        case 2: UInt64(d.le(UInt16.self, at: 0))
        case 4: UInt64(d.le(UInt32.self, at: 0))
        case 8: d.le(UInt64.self, at: 0)
        default: nil
        }
    }

    static func string(_ d: [UInt8]) -> String {
        String(decoding: d.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
