import XenABI

/// ELF file, program and section headers (System V gABI), for ELF32 and ELF64 little-endian.
/// Field offsets are the gABI's; each record is copied out of the file only after its range is
/// proven to lie inside it, so the fixed-offset reads below cannot leave the record.

/// The ELF file header (`Elf32_Ehdr` / `Elf64_Ehdr`), checked for a loadable x86 executable.
struct ELFHeader {
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]  // "\x7fELF"
    static let classELF32: UInt8 = 1, classELF64: UInt8 = 2
    static let dataLSB: UInt8 = 1
    static let typeExec: UInt16 = 2
    static let machine386: UInt16 = 3, machineX86_64: UInt16 = 62
    /// `PN_XNUM`: the real program header count is in section 0's `sh_info`.
    static let extendedPhnum: UInt16 = 0xFFFF

    let elfClass: ELFImage.ELFClass
    let machine: UInt16
    let entry: UInt64
    let phoff: UInt64, phentsize: UInt16, phnum: UInt16
    let shoff: UInt64, shentsize: UInt16, shnum: UInt16

    init(_ file: ELFBytes) throws(DomainBuildError.Reason) {
        let b = file.bytes
        guard !b.isEmpty else { throw .empty }
        // A short prefix of the magic is a truncated ELF file; anything else is not ELF at all.
        guard b.prefix(4).elementsEqual(Self.magic.prefix(b.count)) else { throw .badMagic }
        guard b.count >= 16 else { throw .truncatedFileHeader(needed: 16, length: b.count) }
        let elfClass: ELFImage.ELFClass
        switch b[4] {
        case Self.classELF32: elfClass = .elf32
        case Self.classELF64: elfClass = .elf64
        default: throw .unsupportedClass(b[4])
        }
        guard b[5] == Self.dataLSB else { throw .unsupportedEndianness(b[5]) }
        let size = elfClass == .elf64 ? 64 : 52
        guard let h = file.record(offset: 0, count: size) else {
            throw .truncatedFileHeader(needed: size, length: b.count)
        }
        let type = h.le(UInt16.self, at: 16)
        guard type == Self.typeExec else { throw .unsupportedType(type) }
        let machine = h.le(UInt16.self, at: 18)
        switch (elfClass, machine) {
        case (.elf64, Self.machineX86_64), (.elf32, Self.machineX86_64), (.elf32, Self.machine386): break
        default: throw .unsupportedMachine(machine)
        }
        self.elfClass = elfClass
        self.machine = machine
        if elfClass == .elf64 {
            entry = h.le(UInt64.self, at: 24)
            phoff = h.le(UInt64.self, at: 32)
            shoff = h.le(UInt64.self, at: 40)
            phentsize = h.le(UInt16.self, at: 54); phnum = h.le(UInt16.self, at: 56)
            shentsize = h.le(UInt16.self, at: 58); shnum = h.le(UInt16.self, at: 60)
        } else {
            entry = UInt64(h.le(UInt32.self, at: 24))
            phoff = UInt64(h.le(UInt32.self, at: 28))
            shoff = UInt64(h.le(UInt32.self, at: 32))
            phentsize = h.le(UInt16.self, at: 42); phnum = h.le(UInt16.self, at: 44)
            shentsize = h.le(UInt16.self, at: 46); shnum = h.le(UInt16.self, at: 48)
        }
    }

    /// The section header table (empty when `e_shoff` is 0). With `e_shnum == 0` the count is
    /// section 0's `sh_size` (gABI extended numbering).
    func sectionHeaders(_ file: ELFBytes) throws(DomainBuildError.Reason) -> [ELFSectionHeader] {
        guard shoff != 0 else { return [] }
        let recordSize = ELFSectionHeader.size(elfClass)
        guard Int(shentsize) >= recordSize else { throw .badSectionHeaderEntrySize(shentsize) }
        let entrySize = UInt64(shentsize)
        var count = UInt64(shnum)
        if count == 0 {
            guard let r = file.record(offset: shoff, count: recordSize) else {
                throw .truncatedSectionHeaders(offset: shoff, count: 1, entrySize: entrySize)
            }
            count = ELFSectionHeader(r, elfClass).size
        }
        let records = Self.table(file, offset: shoff, count: count, entrySize: entrySize, recordSize: recordSize)
        guard let records else { throw .truncatedSectionHeaders(offset: shoff, count: count, entrySize: entrySize) }
        return records.map { ELFSectionHeader($0, elfClass) }
    }

    /// The program header table. With `e_phnum == PN_XNUM` the count is section 0's `sh_info`.
    func programHeaders(_ file: ELFBytes, section0: ELFSectionHeader?) throws(DomainBuildError.Reason) -> [ELFProgramHeader] {
        var count = UInt64(phnum)
        if phnum == Self.extendedPhnum, let section0 { count = UInt64(section0.info) }
        guard count > 0 else { return [] }
        let recordSize = ELFProgramHeader.size(elfClass)
        guard Int(phentsize) >= recordSize else { throw .badProgramHeaderEntrySize(phentsize) }
        let entrySize = UInt64(phentsize)
        let records = Self.table(file, offset: phoff, count: count, entrySize: entrySize, recordSize: recordSize)
        guard let records else { throw .truncatedProgramHeaders(offset: phoff, count: count, entrySize: entrySize) }
        return records.enumerated().map { ELFProgramHeader($1, elfClass, index: $0) }
    }

    /// `count` records of `recordSize` bytes, `entrySize` apart from `offset`; nil if the table
    /// overflows or leaves the file.
    private static func table(_ file: ELFBytes, offset: UInt64, count: UInt64, entrySize: UInt64,
                              recordSize: Int) -> [[UInt8]]? {
        guard let bytes = BuildMath.mul(count, entrySize), file.range(offset: offset, count: bytes) != nil else {
            return nil
        }
        // count * entrySize fits in the file, so count fits in Int and each record is in range.
        var records: [[UInt8]] = []
        records.reserveCapacity(Int(count))
        for i in 0..<count {
            guard let r = file.record(offset: offset + i * entrySize, count: recordSize) else { return nil }
            records.append(r)
        }
        return records
    }
}

/// `Elf32_Phdr` / `Elf64_Phdr`, widened to 64 bits.
struct ELFProgramHeader {
    static let typeLoad: UInt32 = 1, typeNote: UInt32 = 4
    static func size(_ c: ELFImage.ELFClass) -> Int { c == .elf64 ? 56 : 32 }

    let index: Int
    let type: UInt32, flags: UInt32
    let offset: UInt64, virtualAddress: UInt64, physicalAddress: UInt64
    let fileSize: UInt64, memorySize: UInt64, align: UInt64

    init(_ r: [UInt8], _ c: ELFImage.ELFClass, index: Int) {
        self.index = index
        type = r.le(UInt32.self, at: 0)
        if c == .elf64 {
            flags = r.le(UInt32.self, at: 4)
            offset = r.le(UInt64.self, at: 8)
            virtualAddress = r.le(UInt64.self, at: 16)
            physicalAddress = r.le(UInt64.self, at: 24)
            fileSize = r.le(UInt64.self, at: 32)
            memorySize = r.le(UInt64.self, at: 40)
            align = r.le(UInt64.self, at: 48)
        } else {
            offset = UInt64(r.le(UInt32.self, at: 4))
            virtualAddress = UInt64(r.le(UInt32.self, at: 8))
            physicalAddress = UInt64(r.le(UInt32.self, at: 12))
            fileSize = UInt64(r.le(UInt32.self, at: 16))
            memorySize = UInt64(r.le(UInt32.self, at: 20))
            flags = r.le(UInt32.self, at: 24)
            align = UInt64(r.le(UInt32.self, at: 28))
        }
    }
}

/// `Elf32_Shdr` / `Elf64_Shdr`: the fields a loader needs, widened to 64 bits.
struct ELFSectionHeader {
    static let typeNote: UInt32 = 7
    static func size(_ c: ELFImage.ELFClass) -> Int { c == .elf64 ? 64 : 40 }

    let type: UInt32
    let offset: UInt64, size: UInt64, info: UInt32, addressAlign: UInt64

    init(_ r: [UInt8], _ c: ELFImage.ELFClass) {
        type = r.le(UInt32.self, at: 4)
        if c == .elf64 {
            offset = r.le(UInt64.self, at: 24)
            size = r.le(UInt64.self, at: 32)
            info = r.le(UInt32.self, at: 44)
            addressAlign = r.le(UInt64.self, at: 48)
        } else {
            offset = UInt64(r.le(UInt32.self, at: 16))
            size = UInt64(r.le(UInt32.self, at: 20))
            info = r.le(UInt32.self, at: 28)
            addressAlign = UInt64(r.le(UInt32.self, at: 32))
        }
    }
}
