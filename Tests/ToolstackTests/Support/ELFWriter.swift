import XenABI

/// Test support: writes small ELF32/ELF64 executables with chosen segments, notes (in a PT_NOTE
/// segment, an SHT_NOTE section, or both over the same bytes), entry and header fields, and
/// reports where each part went so tests can corrupt it precisely.
struct ELFWriter {
    enum Class { case elf32, elf64 }

    struct Segment {
        var paddr: UInt64
        var data: [UInt8]
        /// Defaults to `data.count`.
        var memsz: UInt64?
        var vaddr: UInt64?
        var type: UInt32 = 1  // PT_LOAD
    }

    struct Note {
        var name: String
        var type: UInt32
        var desc: [UInt8]
    }

    /// Where things landed in the written file.
    struct Output {
        var bytes: [UInt8]
        var phoff: Int
        var phentsize: Int
        var shoff: Int
        var shentsize: Int
        var shnum: Int
        /// File offset of each program header, in table order (segments first, then PT_NOTE).
        var programHeaderOffsets: [Int]
        /// File offsets of the PT_NOTE blob and of the section-only note blob.
        var segmentNotesOffset: Int?
        var sectionNotesOffset: Int?
    }

    var elfClass: Class = .elf64
    var machine: UInt16 = 62
    var type: UInt16 = 2
    var entry: UInt64 = 0
    var segments: [Segment] = []
    /// Notes in a PT_NOTE segment.
    var segmentNotes: [Note] = []
    /// Notes in an SHT_NOTE section of their own (no segment).
    var sectionNotes: [Note] = []
    /// Also describe the PT_NOTE bytes with an SHT_NOTE section (as linkers do).
    var segmentNotesAlsoInSection = false
    /// Alignment of note containers (4 or 8).
    var noteAlign: Int = 4

    var is64: Bool { elfClass == .elf64 }
    var ehsize: Int { is64 ? 64 : 52 }
    var phentsize: Int { is64 ? 56 : 32 }
    var shentsize: Int { is64 ? 64 : 40 }

    static func encode(_ notes: [Note], align: Int) -> [UInt8] {
        var out: [UInt8] = []
        for n in notes {
            let name = Array(n.name.utf8) + [0]
            var h = [UInt8](repeating: 0, count: 12)
            h.setLE(UInt32(name.count), at: 0)
            h.setLE(UInt32(n.desc.count), at: 4)
            h.setLE(n.type, at: 8)
            var note = h + name
            pad(&note, to: align)
            note += n.desc
            pad(&note, to: align)
            out += note
        }
        return out
    }

    static func pad(_ b: inout [UInt8], to align: Int) {
        while b.count % align != 0 { b.append(0) }
    }

    func write() -> Output {
        let phnum = segments.count + (segmentNotes.isEmpty ? 0 : 1)
        var file = [UInt8](repeating: 0, count: ehsize + phnum * phentsize)
        let phoff = ehsize

        // Notes.
        var segNotesOff: Int? = nil, secNotesOff: Int? = nil
        var segNotesBlob: [UInt8] = [], secNotesBlob: [UInt8] = []
        if !segmentNotes.isEmpty {
            Self.pad(&file, to: 8)
            segNotesOff = file.count
            segNotesBlob = Self.encode(segmentNotes, align: noteAlign)
            file += segNotesBlob
        }
        if !sectionNotes.isEmpty {
            Self.pad(&file, to: 8)
            secNotesOff = file.count
            secNotesBlob = Self.encode(sectionNotes, align: noteAlign)
            file += secNotesBlob
        }
        // Segment data.
        var segOffsets: [Int] = []
        for s in segments {
            Self.pad(&file, to: 16)
            segOffsets.append(file.count)
            file += s.data
        }
        // Sections: the null section, then note sections.
        var sections: [(offset: Int, size: Int)] = []
        if segmentNotesAlsoInSection, let o = segNotesOff { sections.append((o, segNotesBlob.count)) }
        if let o = secNotesOff { sections.append((o, secNotesBlob.count)) }
        var shoff = 0, shnum = 0
        if !sections.isEmpty {
            Self.pad(&file, to: 8)
            shoff = file.count
            shnum = sections.count + 1
            file += [UInt8](repeating: 0, count: shentsize)  // SHN_UNDEF
            for s in sections { file += sectionHeader(offset: s.offset, size: s.size) }
        }

        // File header.
        file.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        file[4] = is64 ? 2 : 1
        file[5] = 1
        file[6] = 1
        file.setLE(type, at: 16)
        file.setLE(machine, at: 18)
        file.setLE(UInt32(1), at: 20)
        if is64 {
            file.setLE(entry, at: 24)
            file.setLE(UInt64(phoff), at: 32)
            file.setLE(UInt64(shoff), at: 40)
            file.setLE(UInt16(ehsize), at: 52)
            file.setLE(UInt16(phentsize), at: 54)
            file.setLE(UInt16(phnum), at: 56)
            file.setLE(UInt16(shentsize), at: 58)
            file.setLE(UInt16(shnum), at: 60)
        } else {
            file.setLE(UInt32(truncatingIfNeeded: entry), at: 24)
            file.setLE(UInt32(phoff), at: 28)
            file.setLE(UInt32(shoff), at: 32)
            file.setLE(UInt16(ehsize), at: 40)
            file.setLE(UInt16(phentsize), at: 42)
            file.setLE(UInt16(phnum), at: 44)
            file.setLE(UInt16(shentsize), at: 46)
            file.setLE(UInt16(shnum), at: 48)
        }

        // Program headers.
        var phOffsets: [Int] = []
        for (i, s) in segments.enumerated() {
            let at = phoff + i * phentsize
            phOffsets.append(at)
            writeProgramHeader(into: &file, at: at, type: s.type, offset: UInt64(segOffsets[i]),
                               vaddr: s.vaddr ?? s.paddr, paddr: s.paddr, filesz: UInt64(s.data.count),
                               memsz: s.memsz ?? UInt64(s.data.count), align: 16)
        }
        if let o = segNotesOff {
            let at = phoff + segments.count * phentsize
            phOffsets.append(at)
            writeProgramHeader(into: &file, at: at, type: 4, offset: UInt64(o), vaddr: 0, paddr: 0,
                               filesz: UInt64(segNotesBlob.count), memsz: 0, align: UInt64(noteAlign))
        }
        return Output(bytes: file, phoff: phoff, phentsize: phentsize, shoff: shoff, shentsize: shentsize,
                      shnum: shnum, programHeaderOffsets: phOffsets, segmentNotesOffset: segNotesOff,
                      sectionNotesOffset: secNotesOff)
    }

    private func sectionHeader(offset: Int, size: Int) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: shentsize)
        h.setLE(UInt32(7), at: 4)  // SHT_NOTE
        if is64 {
            h.setLE(UInt64(2), at: 8)  // SHF_ALLOC
            h.setLE(UInt64(offset), at: 24)
            h.setLE(UInt64(size), at: 32)
            h.setLE(UInt64(noteAlign), at: 48)
        } else {
            h.setLE(UInt32(2), at: 8)
            h.setLE(UInt32(offset), at: 16)
            h.setLE(UInt32(size), at: 20)
            h.setLE(UInt32(noteAlign), at: 32)
        }
        return h
    }

    private func writeProgramHeader(into file: inout [UInt8], at o: Int, type: UInt32, offset: UInt64,
                                    vaddr: UInt64, paddr: UInt64, filesz: UInt64, memsz: UInt64, align: UInt64) {
        file.setLE(type, at: o)
        if is64 {
            file.setLE(UInt32(5), at: o + 4)
            file.setLE(offset, at: o + 8)
            file.setLE(vaddr, at: o + 16)
            file.setLE(paddr, at: o + 24)
            file.setLE(filesz, at: o + 32)
            file.setLE(memsz, at: o + 40)
            file.setLE(align, at: o + 48)
        } else {
            file.setLE(UInt32(truncatingIfNeeded: offset), at: o + 4)
            file.setLE(UInt32(truncatingIfNeeded: vaddr), at: o + 8)
            file.setLE(UInt32(truncatingIfNeeded: paddr), at: o + 12)
            file.setLE(UInt32(truncatingIfNeeded: filesz), at: o + 16)
            file.setLE(UInt32(truncatingIfNeeded: memsz), at: o + 20)
            file.setLE(UInt32(5), at: o + 24)
            file.setLE(UInt32(truncatingIfNeeded: align), at: o + 28)
        }
    }
}

/// Field offsets tests patch, per class.
extension ELFWriter.Output {
    /// Patches program header `i`'s field (`p_offset`, `p_paddr`, `p_filesz`, `p_memsz`).
    mutating func patchProgramHeader(_ i: Int, _ field: PHField, _ value: UInt64, is64: Bool = true) {
        let o = programHeaderOffsets[i]
        if is64 {
            bytes.setLE(value, at: o + field.offset64)
        } else {
            bytes.setLE(UInt32(truncatingIfNeeded: value), at: o + field.offset32)
        }
    }

    enum PHField {
        case offset, paddr, filesz, memsz
        var offset64: Int { switch self { case .offset: 8; case .paddr: 24; case .filesz: 32; case .memsz: 40 } }
        var offset32: Int { switch self { case .offset: 4; case .paddr: 12; case .filesz: 16; case .memsz: 20 } }
    }
}
