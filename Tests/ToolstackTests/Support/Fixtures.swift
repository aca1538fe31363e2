import GuestMemory
import Toolstack
import XenABI

/// Standard test kernels and guest memories.
enum Fixture {
    static let name = "kernel.elf"
    static let textBase: UInt64 = 0x10_0000
    static let dataBase: UInt64 = 0x10_4000
    static let entry: UInt32 = 0x10_0010
    static let textSize = 0x3000
    static let dataFileSize = 0x800
    static let dataMemSize: UInt64 = 0x2000
    static let ramSize: UInt64 = 16 << 20

    /// A deterministic byte pattern (non-zero, so zeroed tails stand out).
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) | 1 }
    }

    static func u32(_ v: UInt32) -> [UInt8] { var b = [UInt8](repeating: 0, count: 4); b.setLE(v, at: 0); return b }
    static func u64(_ v: UInt64) -> [UInt8] { var b = [UInt8](repeating: 0, count: 8); b.setLE(v, at: 0); return b }
    static func str(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// The notes a PVH kernel carries, plus a foreign-owner note that must be ignored.
    static func pvhNotes(entry: UInt32 = entry, entryDesc: [UInt8]? = nil) -> [ELFWriter.Note] {
        [
            .init(name: "GNU", type: 18, desc: u32(0xDEAD_BEEF)),
            .init(name: "Xen", type: XenNotes.NoteType.guestOS, desc: str("PetrelTest")),
            .init(name: "Xen", type: XenNotes.NoteType.guestVersion, desc: str("1.0")),
            .init(name: "Xen", type: XenNotes.NoteType.xenVersion, desc: str("xen-3.0")),
            .init(name: "Xen", type: XenNotes.NoteType.loader, desc: str("generic")),
            .init(name: "Xen", type: XenNotes.NoteType.features, desc: str("!writable_page_tables|pae_pgdir_above_4gb")),
            .init(name: "Xen", type: XenNotes.NoteType.entry, desc: u64(0xFFFF_FFFF_8100_0000)),
            .init(name: "Xen", type: XenNotes.NoteType.hypercallPage, desc: u64(0xFFFF_FFFF_8100_1000)),
            .init(name: "Xen", type: XenNotes.NoteType.virtBase, desc: u64(0xFFFF_FFFF_8000_0000)),
            .init(name: "Xen", type: XenNotes.NoteType.paddrOffset, desc: u32(0)),
            .init(name: "Xen", type: XenNotes.NoteType.phys32Entry, desc: entryDesc ?? u32(entry)),
        ]
    }

    /// Text (0x3000 bytes at 1 MiB) and data (0x800 bytes + 0x1800 bss at 1 MiB + 16 KiB).
    static var segments: [ELFWriter.Segment] {
        [
            .init(paddr: textBase, data: pattern(textSize, seed: 1), vaddr: 0xFFFF_FFFF_8100_0000),
            .init(paddr: dataBase, data: pattern(dataFileSize, seed: 2), memsz: dataMemSize),
        ]
    }

    /// ELF64, notes in a PT_NOTE segment.
    static func elf64(notes: [ELFWriter.Note] = pvhNotes()) -> ELFWriter {
        var w = ELFWriter()
        w.entry = 0xFFFF_FFFF_8100_0000
        w.segments = segments
        w.segmentNotes = notes
        return w
    }

    /// ELF64, notes only in an SHT_NOTE section.
    static func elf64SectionNotes(notes: [ELFWriter.Note] = pvhNotes()) -> ELFWriter {
        var w = ELFWriter()
        w.segments = segments
        w.sectionNotes = notes
        return w
    }

    /// ELF32 (EM_386 unless told), notes in a PT_NOTE segment and the same bytes in a section.
    static func elf32(machine: UInt16 = 3) -> ELFWriter {
        var w = ELFWriter()
        w.elfClass = .elf32
        w.machine = machine
        w.entry = UInt64(entry)
        w.segments = segments
        w.segmentNotes = pvhNotes()
        w.segmentNotesAlsoInSection = true
        return w
    }

    /// `ramSize` of RAM from 0 plus one reserved special page at 0xFEFF8000, and its memmap.
    static func memory(ramSize: UInt64 = ramSize) throws -> (GuestPhysicalMemory, [HVMMemmapEntry]) {
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: ramSize, kind: .ram)
        try mem.addRegion(at: GPA(0xFEFF_8000), size: 0x1000, kind: .special("test"))
        let map = [
            HVMMemmapEntry(addr: 0, size: ramSize, type: .ram),
            HVMMemmapEntry(addr: 0xFEFF_8000, size: 0x1000, type: .reserved),
        ]
        return (mem, map)
    }

    static func parse(_ w: ELFWriter) throws -> ELFImage {
        try ELFImage(bytes: w.write().bytes, name: name)
    }

    static func parse(_ bytes: [UInt8]) throws -> ELFImage {
        try ELFImage(bytes: bytes, name: name)
    }
}

/// The error a test expects, spelled briefly.
func buildError(_ reason: DomainBuildError.Reason) -> DomainBuildError {
    DomainBuildError(image: Fixture.name, reason: reason)
}
