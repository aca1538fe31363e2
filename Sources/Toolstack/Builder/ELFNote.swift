import XenABI

/// ELF notes (gABI "Note Section"): `namesz`, `descsz`, `type`, then the name and descriptor,
/// each padded to the container's alignment (4, or 8 when the segment/section asks for 8).

/// One note.
public struct ELFNote: Sendable, Equatable {
    /// The owner name without its NUL terminator (`"Xen"`, `"GNU"`, `"Linux"`).
    public let name: String
    public let type: UInt32
    public let desc: [UInt8]
    /// File offset of the note's header; notes seen through both a PT_NOTE segment and an
    /// SHT_NOTE section share it, which is how duplicates are dropped.
    public let fileOffset: UInt64
}

/// A PT_NOTE segment's or SHT_NOTE section's bytes in the file.
struct ELFNoteRegion {
    let offset: UInt64
    let size: UInt64
    /// `p_align` / `sh_addralign`.
    let align: UInt64
}

extension ELFNote {
    static let headerSize: UInt64 = 12

    /// Every note in `regions`, in order, each file offset once (the first time it is seen).
    ///
    /// Duplicates are dropped by sorting, not with a `Set`: a kernel has a handful of notes, and
    /// the first `Set<UInt64>` of a process costs a runtime metadata lookup that scans every
    /// protocol conformance in the binary, about 0.3 ms of each `petrel run`. Sorting stays
    /// O(n log n) for a file made of nothing but notes.
    static func parseAll(_ regions: [ELFNoteRegion], in file: ELFBytes) throws(DomainBuildError.Reason) -> [ELFNote] {
        var notes: [ELFNote] = []
        for region in regions {
            try parse(region, in: file, into: &notes)
        }
        guard notes.count > 1 else { return notes }
        let byOffset = notes.indices.sorted { a, b in
            notes[a].fileOffset != notes[b].fileOffset ? notes[a].fileOffset < notes[b].fileOffset : a < b
        }
        var keep = [Bool](repeating: false, count: notes.count)
        var previous: UInt64?
        for i in byOffset where notes[i].fileOffset != previous {
            keep[i] = true
            previous = notes[i].fileOffset
        }
        return notes.indices.filter { keep[$0] }.map { notes[$0] }
    }

    private static func parse(_ region: ELFNoteRegion, in file: ELFBytes,
                              into notes: inout [ELFNote]) throws(DomainBuildError.Reason) {
        guard let range = file.range(offset: region.offset, count: region.size) else {
            throw .truncatedNote(offset: region.offset)
        }
        // As binutils does: 8-byte notes only where the container says so, otherwise 4.
        let align: UInt64 = region.align == 8 ? 8 : 4
        let end = UInt64(range.upperBound)
        var pos = UInt64(range.lowerBound)
        while pos < end {
            let remaining = end - pos
            if remaining < headerSize {
                // Tolerate zero padding after the last note; anything else is a cut-off header.
                guard let tail = file.record(offset: pos, count: Int(remaining)), tail.allSatisfy({ $0 == 0 }) else {
                    throw .truncatedNote(offset: pos)
                }
                return
            }
            guard let header = file.record(offset: pos, count: Int(headerSize)) else { throw .truncatedNote(offset: pos) }
            let namesz = UInt64(header.le(UInt32.self, at: 0))
            let descsz = UInt64(header.le(UInt32.self, at: 4))
            let type = header.le(UInt32.self, at: 8)
            // Offsets relative to the note's start; all small (< 2^34), so no overflow.
            guard let descOffset = BuildMath.alignUp(headerSize + namesz, align),
                  let nextOffset = BuildMath.alignUp(descOffset + descsz, align),
                  descOffset + descsz <= remaining,
                  let nameBytes = file.record(offset: pos + headerSize, count: Int(namesz)),
                  let desc = file.record(offset: pos + descOffset, count: Int(descsz))
            else { throw .truncatedNote(offset: pos) }
            // The name without its NUL padding (an index loop: reversed/drop views are generic
            // types the runtime would have to instantiate by name, at a cost on every boot).
            var nameLength = nameBytes.count
            while nameLength > 0 && nameBytes[nameLength - 1] == 0 { nameLength -= 1 }
            notes.append(ELFNote(name: String(decoding: nameBytes[0..<nameLength], as: UTF8.self), type: type,
                                 desc: desc, fileOffset: pos))
            // The last note's trailing padding may be missing.
            pos += min(nextOffset, remaining)
        }
    }
}
