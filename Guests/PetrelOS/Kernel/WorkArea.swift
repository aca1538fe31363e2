// The runtime tests' scratch memory: PETREL_WORK_PAGES pages in Boot/cpu.S (.noinit,
// not zeroed; each user initialises what it touches), and sorting of samples.

enum WorkArea {
    static let pageCount = Int(PETREL_WORK_PAGES)

    static func pages(_ first: Int, _ count: Int) -> PhysRegion {
        precondition(first >= 0 && count >= 0 && first + count <= pageCount)
        return PhysRegion(base: petrel_work_address() + UInt64(first * 4096), size: count * 4096)
    }

    /// Pages 0..<16: UInt32 samples (Samples).
    static var samples: PhysRegion { pages(0, 16) }
    /// Pages 16..<24: buffers for grant copies, fuzzing arguments.
    static func buffer(_ i: Int) -> PhysRegion {
        precondition(i >= 0 && i < 8)
        return pages(16 + i, 1)
    }
    /// Page 24: state shared between vCPUs or with upcall handlers.
    static var shared: PhysRegion { pages(24, 1) }
    /// Pages 25..<29: the xenbus client's reply, watch-event and event-queue pages (XenBus).
    static var xenbus: PhysRegion { pages(25, 4) }
    /// Page 29: the pCPU driver's state and tables (PCPU).
    static var pcpu: PhysRegion { pages(29, 1) }
}

/// UInt32 samples in WorkArea.samples.
enum Samples {
    static var capacity: Int { WorkArea.samples.size / 4 }

    static func store(_ i: Int, _ value: UInt32) { WorkArea.samples.store32(4 * i, value) }
    static func load(_ i: Int) -> UInt32 { WorkArea.samples.load32(4 * i) }

    /// Sorts samples 0..<count ascending (heapsort: in place, no heap).
    static func sort(_ count: Int) {
        precondition(count <= capacity)
        let r = WorkArea.samples
        func get(_ i: Int) -> UInt32 { r.u32(4 * i) }
        func put(_ i: Int, _ v: UInt32) { r.store(v, at: 4 * i) }
        func siftDown(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && get(child) < get(child + 1) { child += 1 }
                if get(root) >= get(child) { return }
                let t = get(root); put(root, get(child)); put(child, t)
                root = child
            }
        }
        if count < 2 { return }
        var start = count / 2 - 1
        while start >= 0 { siftDown(start, count); start -= 1 }
        var end = count - 1
        while end > 0 {
            let t = get(0); put(0, get(end)); put(end, t)
            siftDown(0, end)
            end -= 1
        }
    }

    /// The p-th percentile of sorted samples 0..<count (nearest rank below).
    static func percentile(_ p: Int, of count: Int) -> UInt32 {
        guard count > 0 else { return 0 }
        return load((count - 1) * p / 100)
    }
}
