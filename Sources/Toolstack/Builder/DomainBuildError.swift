import GuestMemory

/// Why a kernel image could not be parsed or loaded into a domain. Every malformed input ends
/// here, never in a trap: the builder reads untrusted bytes (STYLE.md habit 4).
///
/// `description` is one line for the CLI, prefixed by the image's name:
/// `kernel.elf: not an ELF file (bad magic)`.
public struct DomainBuildError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The image (or file) the failure concerns, as the user named it.
    public var image: String
    public var reason: Reason

    public init(image: String, reason: Reason) {
        self.image = image
        self.reason = reason
    }

    public var description: String { "\(image): \(reason)" }

    /// One case per failure.
    public enum Reason: Error, Equatable, Sendable, CustomStringConvertible {
        /// The caller could not read the file (missing, permissions); the text says why.
        case unreadable(String)
        /// Zero bytes.
        case empty
        /// The first four bytes are not `\x7fELF`.
        case badMagic
        /// Fewer bytes than the ELF file header needs.
        case truncatedFileHeader(needed: Int, length: Int)
        /// `EI_CLASS` is neither ELFCLASS32 nor ELFCLASS64.
        case unsupportedClass(UInt8)
        /// `EI_DATA` is not ELFDATA2LSB.
        case unsupportedEndianness(UInt8)
        /// `e_machine` is not EM_X86_64 (or EM_386 for ELF32).
        case unsupportedMachine(UInt16)
        /// `e_type` is not ET_EXEC.
        case unsupportedType(UInt16)
        /// `e_phentsize` is smaller than a program header.
        case badProgramHeaderEntrySize(UInt16)
        /// `e_shentsize` is smaller than a section header.
        case badSectionHeaderEntrySize(UInt16)
        /// The program header table runs past the end of the file (or its size overflows).
        case truncatedProgramHeaders(offset: UInt64, count: UInt64, entrySize: UInt64)
        /// The section header table runs past the end of the file (or its size overflows).
        case truncatedSectionHeaders(offset: UInt64, count: UInt64, entrySize: UInt64)
        /// A note (or the note segment/section holding it) runs past its container or the file.
        case truncatedNote(offset: UInt64)
        /// No `XEN_ELFNOTE_PHYS32_ENTRY`: not a PVH kernel.
        case noPVHEntry
        /// `XEN_ELFNOTE_PHYS32_ENTRY` whose descriptor is not 4 or 8 bytes.
        case badPVHEntryNote(descSize: UInt32)
        /// No PT_LOAD segment with bytes to load.
        case noLoadableSegments
        /// A PT_LOAD segment's file bytes lie (partly) outside the file.
        case segmentBeyondFile(index: Int, offset: UInt64, fileSize: UInt64, fileLength: Int)
        /// A PT_LOAD segment with `p_memsz < p_filesz`.
        case segmentMemoryBelowFileSize(index: Int, fileSize: UInt64, memorySize: UInt64)
        /// Two PT_LOAD segments claim the same guest-physical bytes.
        case segmentsOverlap(first: Int, second: Int)
        /// A PT_LOAD segment not wholly inside one RAM range of the memory map.
        case segmentOutsideRAM(index: Int, start: UInt64, end: UInt64)
        /// The PVH entry point is not inside any loaded segment's file bytes.
        case entryOutsideSegments(entry: UInt32)
        /// No room for `what` (`size` bytes) in RAM above the image and below 4 GiB.
        case outOfMemory(what: String, size: UInt64)
        /// An address computation overflowed 64 bits.
        case addressOverflow(what: String)
        /// The memory map says RAM but the domain's guest memory does not back it.
        case guestMemory(MemoryFault)

        public var description: String {
            switch self {
            case .unreadable(let why): "cannot read file: \(why)"
            case .empty: "empty file (0 bytes)"
            case .badMagic: "not an ELF file (bad magic)"
            case .truncatedFileHeader(let needed, let length):
                "truncated ELF file header (\(length) bytes, need \(needed))"
            case .unsupportedClass(let c): "unsupported ELF class \(c) (want ELFCLASS32 or ELFCLASS64)"
            case .unsupportedEndianness(let d): "unsupported ELF data encoding \(d) (want little-endian)"
            case .unsupportedMachine(let m): "unsupported ELF machine \(m) (want x86-64 or i386)"
            case .unsupportedType(let t): "unsupported ELF type \(t) (want ET_EXEC)"
            case .badProgramHeaderEntrySize(let s): "bad program header entry size \(s)"
            case .badSectionHeaderEntrySize(let s): "bad section header entry size \(s)"
            case .truncatedProgramHeaders(let off, let n, let size):
                "truncated program header table (\(n) × \(size) bytes at offset \(hex(off)))"
            case .truncatedSectionHeaders(let off, let n, let size):
                "truncated section header table (\(n) × \(size) bytes at offset \(hex(off)))"
            case .truncatedNote(let off): "truncated ELF note at file offset \(hex(off))"
            case .noPVHEntry: "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"
            case .badPVHEntryNote(let n): "bad XEN_ELFNOTE_PHYS32_ENTRY note (\(n)-byte descriptor, want 4 or 8)"
            case .noLoadableSegments: "no loadable (PT_LOAD) segments"
            case .segmentBeyondFile(let i, let off, let size, let length):
                "segment \(i): file bytes \(hex(off))+\(hex(size)) exceed the file (\(length) bytes)"
            case .segmentMemoryBelowFileSize(let i, let filesz, let memsz):
                "segment \(i): p_memsz \(hex(memsz)) is smaller than p_filesz \(hex(filesz))"
            case .segmentsOverlap(let a, let b): "segments \(a) and \(b) overlap in guest-physical memory"
            case .segmentOutsideRAM(let i, let start, let end):
                "segment \(i): [\(hex(start)), \(hex(end))) is not inside guest RAM"
            case .entryOutsideSegments(let entry): "PVH entry \(hex(UInt64(entry))) is outside the loaded segments"
            case .outOfMemory(let what, let size):
                "too little memory: no room for \(what) (\(size) bytes) above the image below 4 GiB"
            case .addressOverflow(let what): "address arithmetic overflows: \(what)"
            case .guestMemory(let fault): "guest memory not backed as the memory map says: \(fault)"
            }
        }
    }
}

private func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
