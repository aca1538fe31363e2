import GuestMemory
import XenABI

/// Builds a PVH domain's boot memory from a parsed kernel: loads the PT_LOAD segments at their
/// physical addresses, then places `hvm_start_info` (version 1), the memory map, the command line
/// and the initrd module above the image, inside RAM and below 4 GiB
/// (arch-x86/hvm/start_info.h; the layout Xen's libxl gives a PVH guest).
///
/// Stateless; `memory` must not be running a guest while the build writes it.
public enum PVHBuilder {
    /// Everything a 32-bit entry can reach.
    static let ceiling: UInt64 = 1 << 32
    static let pageSize: UInt64 = xenPageSize

    /// Loads `image` into `memory` and writes its start info.
    /// - Parameters:
    ///   - memoryMap: the domain's map. RAM entries are where loading may go; every entry is
    ///     passed to the guest unchanged, and non-RAM entries (special pages) are avoided.
    ///   - commandLine: the kernel command line (written NUL-terminated, even when empty).
    ///   - initrd: the one boot module, if any.
    public static func build(_ image: ELFImage, into memory: GuestPhysicalMemory,
                             memoryMap: [HVMMemmapEntry], commandLine: String,
                             initrd: PVHModule? = nil) throws(DomainBuildError) -> PVHBootLayout {
        do throws(DomainBuildError.Reason) {
            return try buildLayout(image, memory, memoryMap, commandLine, initrd)
        } catch {
            throw DomainBuildError(image: image.name, reason: error)
        }
    }

    private static func buildLayout(_ image: ELFImage, _ memory: GuestPhysicalMemory,
                                     _ memoryMap: [HVMMemmapEntry], _ commandLine: String,
                                     _ initrd: PVHModule?) throws(DomainBuildError.Reason) -> PVHBootLayout {
        guard let entry = image.xenNotes.phys32Entry else { throw .noPVHEntry }
        guard !image.segments.isEmpty else { throw .noLoadableSegments }
        let e = UInt64(entry)
        guard image.segments.contains(where: { $0.physicalAddress <= e && e - $0.physicalAddress < $0.fileSize }) else {
            throw .entryOutsideSegments(entry: entry)
        }
        let ram = try GuestRAMMap(memoryMap)
        for s in image.segments where ram.range(containing: s.physicalAddress, s.physicalEnd) == nil {
            throw .segmentOutsideRAM(index: s.index, start: s.physicalAddress, end: s.physicalEnd)
        }

        // Place everything before writing anything, so a build that does not fit leaves memory
        // holding only the kernel.
        guard let floor = BuildMath.alignUp(image.imageEnd, pageSize) else {
            throw .addressOverflow(what: "image end rounded to a page")
        }
        guard let memmapCount = UInt32(exactly: memoryMap.count) else {
            throw .addressOverflow(what: "memory map entry count")
        }
        var alloc = GuestRAMAllocator(map: ram, floor: floor, ceiling: ceiling)
        let startInfo = try alloc.allocate(UInt64(HVMStartInfo.size), alignment: 8, for: "hvm_start_info")
        let modlist = initrd == nil ? nil
            : try alloc.allocate(UInt64(HVMModlistEntry.size), alignment: 8, for: "module list")
        let memmapBytes = memoryMap.flatMap(\.bytes)
        let memmap = try alloc.allocate(UInt64(memmapBytes.count), alignment: 8, for: "memory map")
        let cmdlineBytes = Array(commandLine.utf8) + [0]
        let cmdline = try alloc.allocate(UInt64(cmdlineBytes.count), alignment: 8, for: "command line")
        let moduleCmdlineBytes = initrd?.commandLine.map { Array($0.utf8) + [0] }
        let moduleCmdline = try moduleCmdlineBytes.map { (b) throws(DomainBuildError.Reason) in
            try alloc.allocate(UInt64(b.count), alignment: 8, for: "initrd command line")
        }
        let initrdAddress = try initrd.map { (m) throws(DomainBuildError.Reason) in
            try alloc.allocate(UInt64(m.bytes.count), alignment: pageSize, for: "initrd")
        }
        guard let end = BuildMath.alignUp(alloc.cursor, pageSize) else {
            throw .addressOverflow(what: "end of boot data rounded to a page")
        }

        let writer = GuestWriter(memory: memory)
        for s in image.segments {
            let bytes = image.fileBytes(of: s)
            try writer.write(bytes, at: s.physicalAddress)
            try writer.zero(at: s.physicalAddress + s.fileSize, count: s.memorySize - s.fileSize)
        }
        var info = HVMStartInfo()
        info.version = 1
        info.memmapPaddr = memmap
        info.memmapEntries = memmapCount
        info.cmdlinePaddr = cmdline
        if let initrd, let initrdAddress, let modlist {
            try writer.write(initrd.bytes[...], at: initrdAddress)
            let entry = HVMModlistEntry(paddr: initrdAddress, size: UInt64(initrd.bytes.count),
                                        cmdlinePaddr: moduleCmdline ?? 0)
            try writer.write(entry.bytes[...], at: modlist)
            if let moduleCmdline, let moduleCmdlineBytes { try writer.write(moduleCmdlineBytes[...], at: moduleCmdline) }
            info.nrModules = 1
            info.modlistPaddr = modlist
        }
        try writer.write(cmdlineBytes[...], at: cmdline)
        try writer.write(memmapBytes[...], at: memmap)
        try writer.write(info.bytes[...], at: startInfo)

        func place(_ a: UInt64, _ size: Int) -> PVHBootLayout.Placement {
            PVHBootLayout.Placement(address: GPA(a), size: UInt64(size))
        }
        return PVHBootLayout(
            entry: entry,
            startInfo: GPA(startInfo),
            segments: image.segments.map { PVHBootLayout.Placement(address: GPA($0.physicalAddress), size: $0.memorySize) },
            imageEnd: GPA(image.imageEnd),
            memmap: place(memmap, memmapBytes.count),
            commandLine: place(cmdline, cmdlineBytes.count),
            modlist: modlist.map { place($0, HVMModlistEntry.size) },
            initrd: both(initrdAddress, initrd).map { place($0, $1.bytes.count) },
            initrdCommandLine: both(moduleCmdline, moduleCmdlineBytes).map { place($0, $1.count) },
            end: GPA(end))
    }
}

private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// Writes to guest-physical memory across region boundaries (the map's RAM may be backed by
/// several adjacent regions), turning faults into build errors.
private struct GuestWriter {
    let memory: GuestPhysicalMemory
    /// Bytes per `fill`/`write` call at most, so huge segments don't need huge temporaries.
    static let chunk: UInt64 = 1 << 24

    func write(_ bytes: ArraySlice<UInt8>, at address: UInt64) throws(DomainBuildError.Reason) {
        var offset = 0
        while offset < bytes.count {
            let a = address + UInt64(offset)
            let n = try span(at: a, remaining: UInt64(bytes.count - offset))
            let start = bytes.startIndex + offset
            do { try memory.write(Array(bytes[start..<(start + Int(n))]), at: GPA(a)) } catch { throw .guestMemory(error) }
            offset += Int(n)
        }
    }

    func zero(at address: UInt64, count: UInt64) throws(DomainBuildError.Reason) {
        var done: UInt64 = 0
        while done < count {
            let a = address + done
            let n = try span(at: a, remaining: count - done)
            do { try memory.fill(0, at: GPA(a), count: Int(n)) } catch { throw .guestMemory(error) }
            done += n
        }
    }

    /// How many bytes from `address` one region holds (at most `remaining` and `chunk`).
    private func span(at address: UInt64, remaining: UInt64) throws(DomainBuildError.Reason) -> UInt64 {
        guard let region = memory.region(containing: GPA(address)) else {
            throw .guestMemory(MemoryFault(address: address, reason: .unbacked))
        }
        return min(remaining, region.end - address, Self.chunk)
    }
}
