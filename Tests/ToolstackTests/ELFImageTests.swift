import Testing
import XenABI
@testable import Toolstack

@Suite("ELFImage: parsing PVH kernels")
struct ELFImageTests {
    @Test func elf64WithProgramHeaderNotes() throws {
        let image = try Fixture.parse(Fixture.elf64())
        #expect(image.elfClass == .elf64)
        #expect(image.machine == 62)
        #expect(image.elfEntry == 0xFFFF_FFFF_8100_0000)
        #expect(image.segments.count == 2)
        #expect(image.segments[0].physicalAddress == Fixture.textBase)
        #expect(image.segments[0].virtualAddress == 0xFFFF_FFFF_8100_0000)
        #expect(image.segments[0].fileSize == UInt64(Fixture.textSize))
        #expect(image.segments[1].fileSize == UInt64(Fixture.dataFileSize))
        #expect(image.segments[1].memorySize == Fixture.dataMemSize)
        #expect(image.imageEnd == Fixture.dataBase + Fixture.dataMemSize)
        #expect(image.notes.count == Fixture.pvhNotes().count)

        let x = image.xenNotes
        #expect(x.phys32Entry == Fixture.entry)
        #expect(x.guestOS == "PetrelTest")
        #expect(x.guestVersion == "1.0")
        #expect(x.xenVersion == "xen-3.0")
        #expect(x.loader == "generic")
        #expect(x.features == "!writable_page_tables|pae_pgdir_above_4gb")
        #expect(x.entry == 0xFFFF_FFFF_8100_0000)
        #expect(x.hypercallPage == 0xFFFF_FFFF_8100_1000)
        #expect(x.virtBase == 0xFFFF_FFFF_8000_0000)
        #expect(x.paddrOffset == 0)
    }

    @Test func elf64WithNotesOnlyInASection() throws {
        let out = Fixture.elf64SectionNotes().write()
        #expect(out.segmentNotesOffset == nil)
        let image = try Fixture.parse(out.bytes)
        #expect(image.xenNotes.phys32Entry == Fixture.entry)
        #expect(image.xenNotes.guestOS == "PetrelTest")
        #expect(image.notes.count == Fixture.pvhNotes().count)
    }

    @Test func notesInBothSegmentAndSectionAreReadOnce() throws {
        var w = Fixture.elf64()
        w.segmentNotesAlsoInSection = true
        let image = try Fixture.parse(w)
        #expect(image.notes.count == Fixture.pvhNotes().count)
        #expect(Set(image.notes.map(\.fileOffset)).count == image.notes.count)
    }

    @Test func notesInSegmentAndSeparateSectionAreBothRead() throws {
        var w = Fixture.elf64(notes: [.init(name: "Xen", type: XenNotes.NoteType.guestOS, desc: Fixture.str("linux"))])
        w.sectionNotes = [.init(name: "Xen", type: XenNotes.NoteType.phys32Entry, desc: Fixture.u32(Fixture.entry))]
        let image = try Fixture.parse(w)
        #expect(image.notes.count == 2)
        #expect(image.xenNotes.guestOS == "linux")
        #expect(image.xenNotes.phys32Entry == Fixture.entry)
    }

    @Test func eightByteAlignedNoteContainer() throws {
        var w = Fixture.elf64(notes: [
            .init(name: "Linux", type: 1, desc: [1, 2, 3]),  // name and desc both need 8-byte padding
            .init(name: "Xen", type: XenNotes.NoteType.phys32Entry, desc: Fixture.u32(Fixture.entry)),
        ])
        w.noteAlign = 8
        let image = try Fixture.parse(w)
        #expect(image.notes.map(\.name) == ["Linux", "Xen"])
        #expect(image.notes[0].desc == [1, 2, 3])
        #expect(image.xenNotes.phys32Entry == Fixture.entry)
    }

    @Test(arguments: [UInt16(3), UInt16(62)])
    func elf32Image(machine: UInt16) throws {
        let image = try Fixture.parse(Fixture.elf32(machine: machine))
        #expect(image.elfClass == .elf32)
        #expect(image.machine == machine)
        #expect(image.elfEntry == UInt64(Fixture.entry))
        #expect(image.segments.map(\.physicalAddress) == [Fixture.textBase, Fixture.dataBase])
        #expect(image.segments[1].memorySize == Fixture.dataMemSize)
        #expect(image.notes.count == Fixture.pvhNotes().count)  // segment + section, deduplicated
        #expect(image.xenNotes.phys32Entry == Fixture.entry)
    }

    @Test func phys32EntryWithEightByteDescriptorTakesLow32Bits() throws {
        let desc = Fixture.u64(0xABCD_0000_0000_0000 | UInt64(Fixture.entry))
        let image = try Fixture.parse(Fixture.elf64(notes: Fixture.pvhNotes(entryDesc: desc)))
        #expect(image.xenNotes.phys32Entry == Fixture.entry)
    }

    @Test func foreignOwnerNoteIsNotTheEntry() throws {
        let image = try Fixture.parse(Fixture.elf64(notes: [.init(name: "GNU", type: 18, desc: Fixture.u32(Fixture.entry))]))
        #expect(image.xenNotes.phys32Entry == nil)
    }

    @Test func emptyLoadSegmentsAreIgnored() throws {
        var w = Fixture.elf64()
        w.segments.append(.init(paddr: Fixture.textBase, data: []))  // overlaps text, but holds nothing
        let image = try Fixture.parse(w)
        #expect(image.segments.count == 2)
    }

    @Test func errorDescriptionIsOneLineNamingTheFile() {
        #expect(buildError(.badMagic).description == "kernel.elf: not an ELF file (bad magic)")
        #expect(buildError(.noPVHEntry).description == "kernel.elf: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)")
        #expect(!buildError(.truncatedNote(offset: 0x40)).description.contains("\n"))
    }
}

@Suite("ELFImage: malformed files")
struct ELFImageMalformedTests {
    @Test func emptyFile() {
        #expect(throws: buildError(.empty)) { try Fixture.parse([]) }
    }

    @Test func badMagic() {
        #expect(throws: buildError(.badMagic)) { try Fixture.parse(Array("MZ\u{90}\0 this is not ELF".utf8)) }
        #expect(throws: buildError(.badMagic)) { try Fixture.parse([0x7F, 0x45, 0x00]) }
        // A prefix of the magic is a truncated ELF file, not a foreign one.
        #expect(throws: buildError(.truncatedFileHeader(needed: 16, length: 3))) { try Fixture.parse([0x7F, 0x45, 0x4C]) }
    }

    @Test func truncatedFileHeader() {
        let bytes = Fixture.elf64().write().bytes
        #expect(throws: buildError(.truncatedFileHeader(needed: 64, length: 40))) { try Fixture.parse(Array(bytes.prefix(40))) }
        #expect(throws: buildError(.truncatedFileHeader(needed: 16, length: 10))) { try Fixture.parse(Array(bytes.prefix(10))) }
        let b32 = Fixture.elf32().write().bytes
        #expect(throws: buildError(.truncatedFileHeader(needed: 52, length: 51))) { try Fixture.parse(Array(b32.prefix(51))) }
    }

    @Test func unsupportedClass() {
        var bytes = Fixture.elf64().write().bytes
        bytes[4] = 3
        #expect(throws: buildError(.unsupportedClass(3))) { try Fixture.parse(bytes) }
    }

    @Test func unsupportedEndianness() {
        var bytes = Fixture.elf64().write().bytes
        bytes[5] = 2
        #expect(throws: buildError(.unsupportedEndianness(2))) { try Fixture.parse(bytes) }
    }

    @Test func unsupportedMachine() {
        var w64 = Fixture.elf64()
        w64.machine = 3  // EM_386 is only valid for ELF32
        #expect(throws: buildError(.unsupportedMachine(3))) { try Fixture.parse(w64) }
        var w32 = Fixture.elf32()
        w32.machine = 40  // EM_ARM
        #expect(throws: buildError(.unsupportedMachine(40))) { try Fixture.parse(w32) }
    }

    @Test func unsupportedType() {
        var w = Fixture.elf64()
        w.type = 3  // ET_DYN
        #expect(throws: buildError(.unsupportedType(3))) { try Fixture.parse(w) }
    }

    @Test func programHeaderEntryTooSmall() {
        var bytes = Fixture.elf64().write().bytes
        bytes.setLE(UInt16(32), at: 54)
        #expect(throws: buildError(.badProgramHeaderEntrySize(32))) { try Fixture.parse(bytes) }
    }

    @Test func sectionHeaderEntryTooSmall() {
        var bytes = Fixture.elf64SectionNotes().write().bytes
        bytes.setLE(UInt16(40), at: 58)
        #expect(throws: buildError(.badSectionHeaderEntrySize(40))) { try Fixture.parse(bytes) }
    }

    @Test func truncatedProgramHeaderTable() {
        var bytes = Fixture.elf64().write().bytes
        bytes.setLE(UInt16(0xFFF0), at: 56)
        #expect(throws: buildError(.truncatedProgramHeaders(offset: 64, count: 0xFFF0, entrySize: 56))) {
            try Fixture.parse(bytes)
        }
        var far = Fixture.elf64().write().bytes
        far.setLE(UInt64.max - 8, at: 32)  // e_phoff: offset + size overflows
        #expect(throws: buildError(.truncatedProgramHeaders(offset: UInt64.max - 8, count: 3, entrySize: 56))) {
            try Fixture.parse(far)
        }
    }

    @Test func truncatedSectionHeaderTable() {
        let out = Fixture.elf64SectionNotes().write()
        let cut = Array(out.bytes.prefix(out.bytes.count - 1))
        #expect(throws: buildError(.truncatedSectionHeaders(offset: UInt64(out.shoff), count: UInt64(out.shnum), entrySize: 64))) {
            try Fixture.parse(cut)
        }
    }

    @Test func truncatedNote() throws {
        var out = Fixture.elf64().write()
        let notes = try #require(out.segmentNotesOffset)
        out.bytes.setLE(UInt32(0xFFFF_FFF0), at: notes)  // first note's namesz
        #expect(throws: buildError(.truncatedNote(offset: UInt64(notes)))) { try Fixture.parse(out.bytes) }
    }

    @Test func noteSegmentPastEndOfFile() throws {
        var out = Fixture.elf64().write()
        let notes = try #require(out.segmentNotesOffset)
        out.patchProgramHeader(2, .filesz, UInt64(out.bytes.count))
        #expect(throws: buildError(.truncatedNote(offset: UInt64(notes)))) { try Fixture.parse(out.bytes) }
    }

    @Test func noteHeaderCutShort() throws {
        // The section claims 5 bytes more than its notes hold: a partial, non-zero note header.
        var out = Fixture.elf64SectionNotes().write()
        let notes = try #require(out.sectionNotesOffset)
        let sizeField = out.shoff + out.shentsize + 32
        let size = Int(out.bytes.le(UInt64.self, at: sizeField))
        out.bytes.setLE(UInt64(size + 5), at: sizeField)
        out.bytes[notes + size] = 0x41
        #expect(throws: buildError(.truncatedNote(offset: UInt64(notes + size)))) { try Fixture.parse(out.bytes) }
    }

    @Test func badPVHEntryNoteSize() {
        let w = Fixture.elf64(notes: Fixture.pvhNotes(entryDesc: [0x10, 0x00]))
        #expect(throws: buildError(.badPVHEntryNote(descSize: 2))) { try Fixture.parse(w) }
    }

    @Test func segmentFileBytesBeyondFile() {
        var out = Fixture.elf64().write()
        let length = out.bytes.count
        out.patchProgramHeader(0, .offset, UInt64(length - 4))
        #expect(throws: buildError(.segmentBeyondFile(index: 0, offset: UInt64(length - 4), fileSize: 0x3000, fileLength: length))) {
            try Fixture.parse(out.bytes)
        }
        var wrap = Fixture.elf64().write()
        wrap.patchProgramHeader(1, .offset, UInt64.max)
        #expect(throws: buildError(.segmentBeyondFile(index: 1, offset: UInt64.max, fileSize: 0x800, fileLength: length))) {
            try Fixture.parse(wrap.bytes)
        }
    }

    @Test func memorySizeBelowFileSize() {
        var out = Fixture.elf64().write()
        out.patchProgramHeader(1, .memsz, 0x400)
        #expect(throws: buildError(.segmentMemoryBelowFileSize(index: 1, fileSize: 0x800, memorySize: 0x400))) {
            try Fixture.parse(out.bytes)
        }
    }

    @Test func overlappingSegments() {
        var w = Fixture.elf64()
        w.segments[1].paddr = Fixture.textBase + 0x2000  // inside text
        #expect(throws: buildError(.segmentsOverlap(first: 0, second: 1))) { try Fixture.parse(w) }
        // A long segment that covers a later, non-adjacent one.
        var long = Fixture.elf64()
        long.segments[0].memsz = 0x10_0000
        long.segments.append(.init(paddr: 0x30_0000, data: [1, 2, 3]))
        #expect(throws: buildError(.segmentsOverlap(first: 0, second: 1))) { try Fixture.parse(long) }
    }

    @Test func physicalAddressOverflow() {
        var out = Fixture.elf64().write()
        out.patchProgramHeader(0, .paddr, UInt64.max - 0xFFF)
        #expect(throws: buildError(.addressOverflow(what: "segment 0: p_paddr + p_memsz"))) { try Fixture.parse(out.bytes) }
    }
}
