import GuestMemory
import Testing
import XenABI
@testable import Toolstack

@Suite("PVHBuilder: loading and start info")
struct PVHBuilderTests {
    static let fourGiB: UInt64 = 1 << 32

    @Test(arguments: ["elf64", "elf64-section", "elf32"])
    func buildsEachImageKind(kind: String) throws {
        let w = switch kind {
        case "elf64": Fixture.elf64()
        case "elf64-section": Fixture.elf64SectionNotes()
        default: Fixture.elf32()
        }
        let image = try Fixture.parse(w)
        let (mem, map) = try Fixture.memory()
        let layout = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "console=hvc0")
        #expect(layout.entry == Fixture.entry)
        #expect(try mem.read(at: GPA(Fixture.textBase), count: Fixture.textSize) == Fixture.pattern(Fixture.textSize, seed: 1))
        #expect(try mem.read(at: GPA(Fixture.dataBase), count: Fixture.dataFileSize) == Fixture.pattern(Fixture.dataFileSize, seed: 2))
        let info = HVMStartInfo(bytes: try mem.read(at: layout.startInfo, count: HVMStartInfo.size))
        #expect(info.magic == 0x336E_C578)
        #expect(info.version == 1)
    }

    @Test func bssTailIsZeroed() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let (mem, map) = try Fixture.memory()
        try mem.fill(0xAA, at: GPA(0), count: 4 << 20)  // stale contents
        _ = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        let tailStart = Fixture.dataBase + UInt64(Fixture.dataFileSize)
        let tail = try mem.read(at: GPA(tailStart), count: Int(Fixture.dataMemSize) - Fixture.dataFileSize)
        #expect(tail.allSatisfy { $0 == 0 })
        // Bytes outside the segments are not the loader's to touch.
        #expect(try mem.read(at: GPA(Fixture.textBase - 1), count: 1) == [0xAA])
        #expect(try mem.read(at: GPA(Fixture.textBase + UInt64(Fixture.textSize)), count: 1) == [0xAA])
    }

    @Test func startInfoFieldByField() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let (mem, map) = try Fixture.memory()
        let initrd = Fixture.pattern(0x1234, seed: 9)
        let layout = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "console=hvc0 quiet",
                                          initrd: PVHModule(bytes: initrd, commandLine: "initrd-args"))
        let raw = try mem.read(at: layout.startInfo, count: HVMStartInfo.size)
        #expect(raw.le(UInt32.self, at: 0) == 0x336E_C578)  // magic
        #expect(raw.le(UInt32.self, at: 4) == 1)  // version
        #expect(raw.le(UInt32.self, at: 8) == 0)  // flags
        #expect(raw.le(UInt32.self, at: 12) == 1)  // nr_modules
        let modlistPaddr = raw.le(UInt64.self, at: 16)
        let cmdlinePaddr = raw.le(UInt64.self, at: 24)
        #expect(raw.le(UInt64.self, at: 32) == 0)  // rsdp_paddr
        let memmapPaddr = raw.le(UInt64.self, at: 40)
        #expect(raw.le(UInt32.self, at: 48) == UInt32(map.count))
        #expect(raw.le(UInt32.self, at: 52) == 0)  // reserved

        #expect(cmdlinePaddr == layout.commandLine.address.raw)
        #expect(try mem.read(at: GPA(cmdlinePaddr), count: 19) == Array("console=hvc0 quiet".utf8) + [0])

        #expect(memmapPaddr == layout.memmap.address.raw)
        for (i, expected) in map.enumerated() {
            let e = HVMMemmapEntry(bytes: try mem.read(at: GPA(memmapPaddr + UInt64(i * HVMMemmapEntry.size)),
                                                       count: HVMMemmapEntry.size))
            #expect(e == expected)
        }

        #expect(modlistPaddr == layout.modlist?.address.raw)
        let mod = HVMModlistEntry(bytes: try mem.read(at: GPA(modlistPaddr), count: HVMModlistEntry.size))
        #expect(mod.paddr == layout.initrd?.address.raw)
        #expect(mod.size == UInt64(initrd.count))
        #expect(mod.paddr % xenPageSize == 0)
        #expect(try mem.read(at: GPA(mod.paddr), count: initrd.count) == initrd)
        #expect(mod.cmdlinePaddr != 0)
        #expect(try mem.read(at: GPA(mod.cmdlinePaddr), count: 12) == Array("initrd-args".utf8) + [0])
    }

    @Test func withoutInitrdThereAreNoModules() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let (mem, map) = try Fixture.memory()
        let layout = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        let info = HVMStartInfo(bytes: try mem.read(at: layout.startInfo, count: HVMStartInfo.size))
        #expect(info.nrModules == 0)
        #expect(info.modlistPaddr == 0)
        #expect(layout.modlist == nil && layout.initrd == nil)
        #expect(try mem.read(at: GPA(info.cmdlinePaddr), count: 1) == [0])  // empty, NUL-terminated
    }

    @Test func placementAboveImagePageAlignedBelow4GiB() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let (mem, map) = try Fixture.memory()
        let layout = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "x",
                                          initrd: PVHModule(bytes: [1, 2, 3], commandLine: "m"))
        let floor = (image.imageEnd + xenPageSize - 1) & ~(xenPageSize - 1)
        #expect(layout.imageEnd.raw == image.imageEnd)
        #expect(layout.startInfo.raw == floor)  // first piece starts the first page above the image
        var pieces = [layout.memmap, layout.commandLine]
        pieces.append(PVHBootLayout.Placement(address: layout.startInfo, size: UInt64(HVMStartInfo.size)))
        pieces += [layout.modlist, layout.initrd, layout.initrdCommandLine].compactMap { $0 }
        for p in pieces {
            #expect(p.address.raw >= floor)
            #expect(p.end.raw <= Self.fourGiB)
            #expect(p.end.raw <= Fixture.ramSize)
            #expect(p.end <= layout.end)
        }
        #expect(layout.initrd?.address.pageOffset == 0)
        #expect(layout.end.pageOffset == 0)
        // No two pieces overlap.
        let sorted = (pieces + layout.segments).sorted { $0.address < $1.address }
        for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.end <= b.address) }
    }

    @Test func placementSkipsHolesAndReservedRanges() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: 8 << 20, kind: .ram)
        let imageEnd = Fixture.dataBase + Fixture.dataMemSize  // 0x106000
        // RAM ends right at the image; the next RAM range starts with a reserved page.
        let map = [
            HVMMemmapEntry(addr: 0, size: imageEnd, type: .ram),
            HVMMemmapEntry(addr: 0x20_0000, size: 6 << 20, type: .ram),
            HVMMemmapEntry(addr: 0x20_0000, size: 0x1000, type: .reserved),
        ]
        let layout = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        #expect(layout.startInfo.raw == 0x20_1000)
        let info = HVMStartInfo(bytes: try mem.read(at: layout.startInfo, count: HVMStartInfo.size))
        #expect(info.memmapEntries == 3)  // passed through as given
    }

    @Test func segmentsMaySpanAdjacentMemoryRegions() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: Fixture.textBase + 0x1000, kind: .ram)  // splits the text segment
        try mem.addRegion(at: GPA(Fixture.textBase + 0x1000), size: 8 << 20, kind: .ram)
        let map = [HVMMemmapEntry(addr: 0, size: Fixture.textBase + 0x1000 + (8 << 20), type: .ram)]
        _ = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        #expect(try mem.read(at: GPA(Fixture.textBase), count: 0x1000) == Array(Fixture.pattern(Fixture.textSize, seed: 1).prefix(0x1000)))
        #expect(try mem.read(at: GPA(Fixture.textBase + 0x1000), count: 0x2000) == Array(Fixture.pattern(Fixture.textSize, seed: 1).suffix(0x2000)))
    }

    @Test func kernelImageAdapterGivesPVHBootState() throws {
        let image = try KernelImage.parse(Fixture.elf64().write().bytes, path: "k")
        let (mem, map) = try Fixture.memory()
        let layout = try image.layout(into: mem, memmap: map, cmdline: "", initrd: nil)
        #expect(layout.bootState.entry == UInt64(Fixture.entry))
        #expect(layout.bootState.bootParameter == layout.startInfo.raw)
        #expect(throws: ToolstackError.self) { try KernelImage.parse([1, 2, 3], path: "k") }
    }
}

@Suite("PVHBuilder: build failures")
struct PVHBuilderFailureTests {
    func build(_ w: ELFWriter, ramSize: UInt64 = Fixture.ramSize, commandLine: String = "",
               initrd: PVHModule? = nil) throws {
        let image = try Fixture.parse(w)
        let (mem, map) = try Fixture.memory(ramSize: ramSize)
        _ = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: commandLine, initrd: initrd)
    }

    @Test func noPVHEntryNote() {
        let notes = Fixture.pvhNotes().filter { !($0.name == "Xen" && $0.type == XenNotes.NoteType.phys32Entry) }
        #expect(throws: buildError(.noPVHEntry)) { try build(Fixture.elf64(notes: notes)) }
        var none = Fixture.elf64()
        none.segmentNotes = []
        #expect(throws: buildError(.noPVHEntry)) { try build(none) }
    }

    @Test func noLoadableSegments() {
        var w = Fixture.elf64()
        w.segments = []
        #expect(throws: buildError(.noLoadableSegments)) { try build(w) }
    }

    @Test func entryOutsideSegments() {
        #expect(throws: buildError(.entryOutsideSegments(entry: 0x20_0000))) {
            try build(Fixture.elf64(notes: Fixture.pvhNotes(entry: 0x20_0000)))
        }
        // In the bss tail: nothing loaded there to run.
        let bss = UInt32(Fixture.dataBase) + UInt32(Fixture.dataFileSize) + 0x10
        #expect(throws: buildError(.entryOutsideSegments(entry: bss))) {
            try build(Fixture.elf64(notes: Fixture.pvhNotes(entry: bss)))
        }
    }

    @Test func segmentOutsideRAM() {
        var w = Fixture.elf64()
        w.segments[1].paddr = 32 << 20
        #expect(throws: buildError(.segmentOutsideRAM(index: 1, start: 32 << 20, end: (32 << 20) + Fixture.dataMemSize))) {
            try build(w)
        }
    }

    @Test func segmentStraddlingIntoAHole() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: 16 << 20, kind: .ram)
        let holeStart = Fixture.dataBase + 0x1000  // inside the data segment's bss
        let map = [
            HVMMemmapEntry(addr: 0, size: holeStart, type: .ram),
            HVMMemmapEntry(addr: 0x20_0000, size: 8 << 20, type: .ram),
        ]
        let expected = buildError(.segmentOutsideRAM(index: 1, start: Fixture.dataBase, end: Fixture.dataBase + Fixture.dataMemSize))
        #expect(throws: expected) { try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "") }
        // A reserved entry inside RAM is a hole too.
        let reserved = [
            HVMMemmapEntry(addr: 0, size: 16 << 20, type: .ram),
            HVMMemmapEntry(addr: holeStart, size: 0x1000, type: .reserved),
        ]
        #expect(throws: expected) { try PVHBuilder.build(image, into: mem, memoryMap: reserved, commandLine: "") }
    }

    @Test func tooLittleMemoryForStartInfo() {
        // The data segment's bss runs to the very end of RAM: nothing fits above the image.
        var w = Fixture.elf64()
        w.segments[1].memsz = Fixture.ramSize - Fixture.dataBase
        #expect(throws: buildError(.outOfMemory(what: "hvm_start_info", size: UInt64(HVMStartInfo.size)))) { try build(w) }
    }

    @Test func tooLittleMemoryForInitrd() {
        let initrd = PVHModule(bytes: [UInt8](repeating: 7, count: 15 << 20))
        #expect(throws: buildError(.outOfMemory(what: "initrd", size: 15 << 20))) { try build(Fixture.elf64(), initrd: initrd) }
    }

    @Test func tooLittleMemoryForCommandLine() {
        // Start info at 0x106000 and the 2-entry memmap end at 0x106068; the cmdline's NUL is one too many.
        let cmdline = String(repeating: "a", count: (16 << 20) - 0x10_6068)
        #expect(throws: buildError(.outOfMemory(what: "command line", size: UInt64(cmdline.utf8.count + 1)))) {
            try build(Fixture.elf64(), commandLine: cmdline)
        }
    }

    @Test func startInfoMustBeBelow4GiB() throws {
        // RAM above 4 GiB only, as far as placement goes: the image sits in low RAM that ends at it.
        let image = try Fixture.parse(Fixture.elf64())
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: 2 << 20, kind: .ram)
        let map = [
            HVMMemmapEntry(addr: 0, size: Fixture.dataBase + Fixture.dataMemSize, type: .ram),
            HVMMemmapEntry(addr: 1 << 32, size: 1 << 30, type: .ram),
        ]
        #expect(throws: buildError(.outOfMemory(what: "hvm_start_info", size: UInt64(HVMStartInfo.size)))) {
            try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        }
    }

    @Test func memoryMapAddressOverflow() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: 16 << 20, kind: .ram)
        let map = [
            HVMMemmapEntry(addr: 0, size: 16 << 20, type: .ram),
            HVMMemmapEntry(addr: UInt64.max - 0xFFF, size: 0x2000, type: .reserved),
        ]
        #expect(throws: buildError(.addressOverflow(what: "memory map entry 1: addr + size"))) {
            try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        }
    }

    @Test func memoryMapRAMNotBackedByGuestMemory() throws {
        let image = try Fixture.parse(Fixture.elf64())
        let mem = GuestPhysicalMemory()
        try mem.addRegion(at: GPA(0), size: 1 << 20, kind: .ram)  // the map claims 16 MiB
        let map = [HVMMemmapEntry(addr: 0, size: 16 << 20, type: .ram)]
        #expect(throws: buildError(.guestMemory(MemoryFault(address: Fixture.textBase, reason: .unbacked)))) {
            try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "")
        }
    }
}

