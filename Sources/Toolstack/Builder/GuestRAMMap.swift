import XenABI

/// Where a builder may put things: the memory map's RAM, minus any range another entry claims
/// (reserved special pages, ACPI), as sorted, disjoint, non-adjacent half-open ranges.
struct GuestRAMMap {
    struct Range: Equatable {
        var start: UInt64
        var end: UInt64
        func contains(_ start: UInt64, _ end: UInt64) -> Bool { self.start <= start && end <= self.end }
    }

    private(set) var ranges: [Range] = []

    init(_ memoryMap: [HVMMemmapEntry]) throws(DomainBuildError.Reason) {
        var ram: [Range] = []
        var claimed: [Range] = []
        for (i, e) in memoryMap.enumerated() where e.size > 0 {
            guard let end = BuildMath.add(e.addr, e.size) else {
                throw .addressOverflow(what: "memory map entry \(i): addr + size")
            }
            if e.type == MemoryType.ram.rawValue {
                ram.append(Range(start: e.addr, end: end))
            } else {
                claimed.append(Range(start: e.addr, end: end))
            }
        }
        ranges = Self.subtract(Self.merge(ram), Self.merge(claimed))
    }

    /// The usable range holding all of `[start, end)`, if one does.
    func range(containing start: UInt64, _ end: UInt64) -> Range? {
        ranges.first { $0.contains(start, end) }
    }

    /// Sorted union of `rs`, touching ranges joined.
    static func merge(_ rs: [Range]) -> [Range] {
        var out: [Range] = []
        for r in rs.sorted(by: { $0.start < $1.start }) {
            if let last = out.last, r.start <= last.end {
                out[out.count - 1].end = max(last.end, r.end)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// `a` minus `b`; both sorted and disjoint.
    static func subtract(_ a: [Range], _ b: [Range]) -> [Range] {
        var out: [Range] = []
        for r in a {
            var pieces = [r]
            for hole in b where hole.start < r.end && r.start < hole.end {
                pieces = pieces.flatMap { p -> [Range] in
                    guard hole.start < p.end && p.start < hole.end else { return [p] }
                    var keep: [Range] = []
                    if p.start < hole.start { keep.append(Range(start: p.start, end: hole.start)) }
                    if hole.end < p.end { keep.append(Range(start: hole.end, end: p.end)) }
                    return keep
                }
            }
            out += pieces
        }
        return out
    }
}

/// A bump allocator over a `GuestRAMMap`, upward from a floor and below a ceiling (4 GiB for
/// what a 32-bit PVH entry must reach).
struct GuestRAMAllocator {
    let map: GuestRAMMap
    private(set) var cursor: UInt64
    let ceiling: UInt64

    init(map: GuestRAMMap, floor: UInt64, ceiling: UInt64) {
        self.map = map
        self.cursor = floor
        self.ceiling = ceiling
    }

    /// The lowest `alignment`-aligned address at or above the cursor where `size` bytes fit in
    /// one usable range below the ceiling; the cursor moves past it.
    mutating func allocate(_ size: UInt64, alignment: UInt64, for what: String) throws(DomainBuildError.Reason) -> UInt64 {
        for r in map.ranges where r.end > cursor || (size == 0 && r.end == cursor) {
            guard let start = BuildMath.alignUp(max(cursor, r.start), alignment),
                  let end = BuildMath.add(start, size),
                  end <= r.end, end <= ceiling
            else { continue }
            cursor = end
            return start
        }
        throw .outOfMemory(what: what, size: size)
    }
}
