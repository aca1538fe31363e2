import XenABI

/// A parsed x86 PVH kernel: ELF32 or ELF64, little-endian, ET_EXEC.
///
/// Parsing is strict: every offset and size is checked against the file's length with
/// overflow-safe arithmetic, so any malformed input becomes a `DomainBuildError`. The image is
/// an immutable value; `PVHBuilder` loads it into a domain.
public struct ELFImage: Sendable {
    public enum ELFClass: Sendable, Equatable {
        case elf32, elf64
    }

    /// The name used in error messages (normally the file name the user gave).
    public let name: String
    public let elfClass: ELFClass
    /// `e_machine`: EM_X86_64 (62) or, for ELF32, EM_386 (3).
    public let machine: UInt16
    /// `e_entry` (informational: a PVH guest starts at `xenNotes.phys32Entry`).
    public let elfEntry: UInt64
    /// PT_LOAD segments with a non-zero memory size, in program-header order.
    public let segments: [ELFSegment]
    /// Every note from PT_NOTE segments and SHT_NOTE sections, each note once.
    public let notes: [ELFNote]
    /// The `"Xen"` notes, decoded.
    public let xenNotes: XenNotes
    /// The file, for loading segment bytes.
    let file: ELFBytes

    /// The first byte past the highest loaded segment (guest-physical).
    public var imageEnd: UInt64 { segments.map(\.physicalEnd).max() ?? 0 }

    /// Parses `bytes`; `name` prefixes error messages (`kernel.elf: not an ELF file (bad magic)`).
    public init(bytes: [UInt8], name: String) throws(DomainBuildError) {
        let file = ELFBytes(bytes: bytes)
        do throws(DomainBuildError.Reason) {
            let header = try ELFHeader(file)
            let sections = try header.sectionHeaders(file)
            let programHeaders = try header.programHeaders(file, section0: sections.first)

            var segments: [ELFSegment] = []
            var noteRegions: [ELFNoteRegion] = []
            for ph in programHeaders {
                switch ph.type {
                case ELFProgramHeader.typeLoad:
                    if let segment = try ELFSegment(validating: ph, fileLength: bytes.count) {
                        segments.append(segment)
                    }
                case ELFProgramHeader.typeNote:
                    noteRegions.append(ELFNoteRegion(offset: ph.offset, size: ph.fileSize, align: ph.align))
                default:
                    break
                }
            }
            for sh in sections where sh.type == ELFSectionHeader.typeNote {
                noteRegions.append(ELFNoteRegion(offset: sh.offset, size: sh.size, align: sh.addressAlign))
            }
            if let (a, b) = ELFSegment.firstOverlap(segments) {
                throw DomainBuildError.Reason.segmentsOverlap(first: a, second: b)
            }
            let notes = try ELFNote.parseAll(noteRegions, in: file)

            self.name = name
            self.elfClass = header.elfClass
            self.machine = header.machine
            self.elfEntry = header.entry
            self.segments = segments
            self.notes = notes
            self.xenNotes = try XenNotes(notes)
            self.file = file
        } catch {
            throw DomainBuildError(image: name, reason: error)
        }
    }

    /// The file bytes of `segment` (validated at parse time to lie inside the file).
    func fileBytes(of segment: ELFSegment) -> ArraySlice<UInt8> {
        guard let r = file.range(offset: segment.fileOffset, count: segment.fileSize) else { return [] }
        return file.bytes[r]
    }
}

/// A PT_LOAD segment, validated: its file bytes lie inside the file, `memorySize >= fileSize`,
/// and `physicalAddress + memorySize` does not overflow.
public struct ELFSegment: Sendable, Equatable {
    /// Index in the program header table.
    public let index: Int
    /// `p_paddr`: where a PVH loader puts it.
    public let physicalAddress: UInt64
    public let virtualAddress: UInt64
    public let fileOffset: UInt64
    public let fileSize: UInt64
    public let memorySize: UInt64
    public let flags: UInt32

    public var physicalEnd: UInt64 { physicalAddress + memorySize }

    /// Nil for an empty segment (nothing to load).
    init?(validating ph: ELFProgramHeader, fileLength: Int) throws(DomainBuildError.Reason) {
        guard let fileEnd = BuildMath.add(ph.offset, ph.fileSize), fileEnd <= UInt64(fileLength) else {
            throw .segmentBeyondFile(index: ph.index, offset: ph.offset, fileSize: ph.fileSize,
                                     fileLength: fileLength)
        }
        guard ph.memorySize >= ph.fileSize else {
            throw .segmentMemoryBelowFileSize(index: ph.index, fileSize: ph.fileSize, memorySize: ph.memorySize)
        }
        guard BuildMath.add(ph.physicalAddress, ph.memorySize) != nil else {
            throw .addressOverflow(what: "segment \(ph.index): p_paddr + p_memsz")
        }
        if ph.memorySize == 0 { return nil }
        index = ph.index
        physicalAddress = ph.physicalAddress
        virtualAddress = ph.virtualAddress
        fileOffset = ph.offset
        fileSize = ph.fileSize
        memorySize = ph.memorySize
        flags = ph.flags
    }

    /// The program-header indexes of two overlapping segments, if any (O(n log n)).
    static func firstOverlap(_ segments: [ELFSegment]) -> (Int, Int)? {
        var furthest: ELFSegment? = nil
        for s in segments.sorted(by: { $0.physicalAddress < $1.physicalAddress }) {
            if let f = furthest {
                if f.physicalEnd > s.physicalAddress { return (min(f.index, s.index), max(f.index, s.index)) }
                if s.physicalEnd > f.physicalEnd { furthest = s }
            } else {
                furthest = s
            }
        }
        return nil
    }
}
