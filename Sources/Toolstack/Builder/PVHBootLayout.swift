import XenABI

/// A boot module for `hvm_start_info`'s modlist (the initrd), with an optional command line.
public struct PVHModule: Sendable, Equatable {
    public var bytes: [UInt8]
    public var commandLine: String?
    public init(bytes: [UInt8], commandLine: String? = nil) {
        self.bytes = bytes
        self.commandLine = commandLine
    }
}

/// Where `PVHBuilder` put each piece of a PVH boot, and where the guest starts.
public struct PVHBootLayout: Sendable, Equatable, CustomStringConvertible {
    /// `size` bytes at `address`.
    public struct Placement: Sendable, Equatable, CustomStringConvertible {
        public var address: GPA
        public var size: UInt64
        public init(address: GPA, size: UInt64) {
            self.address = address
            self.size = size
        }
        /// The first byte past the placement.
        public var end: GPA { address.advanced(by: size) }
        public var description: String {
            "[0x\(String(address.raw, radix: 16)), 0x\(String(end.raw, radix: 16)))"
        }
    }

    /// `XEN_ELFNOTE_PHYS32_ENTRY`: the guest starts here in 32-bit flat protected mode.
    public var entry: UInt32
    /// `hvm_start_info`; the vCPU's EBX at entry.
    public var startInfo: GPA
    /// Each PT_LOAD segment as loaded (`p_paddr`, `p_memsz`), in program-header order.
    public var segments: [Placement]
    /// The first byte past the highest loaded segment.
    public var imageEnd: GPA
    /// The `hvm_memmap_table_entry` array.
    public var memmap: Placement
    /// The NUL-terminated command line (size includes the NUL).
    public var commandLine: Placement
    /// The `hvm_modlist_entry` array (one entry), when there is an initrd.
    public var modlist: Placement?
    /// The initrd's bytes (page aligned).
    public var initrd: Placement?
    /// The initrd's NUL-terminated command line, when it has one.
    public var initrdCommandLine: Placement?
    /// The first byte past everything the builder placed (page aligned).
    public var end: GPA

    public var description: String {
        var lines = ["PVH entry 0x\(String(entry, radix: 16)), start info at \(startInfo)"]
        for (i, s) in segments.enumerated() { lines.append("  segment \(i): \(s)") }
        lines.append("  start info: \(Placement(address: startInfo, size: UInt64(HVMStartInfo.size)))")
        lines.append("  memmap: \(memmap) (\(memmap.size / UInt64(HVMMemmapEntry.size)) entries)")
        lines.append("  cmdline: \(commandLine)")
        if let modlist { lines.append("  modlist: \(modlist)") }
        if let initrd { lines.append("  initrd: \(initrd)") }
        if let initrdCommandLine { lines.append("  initrd cmdline: \(initrdCommandLine)") }
        return lines.joined(separator: "\n")
    }
}
