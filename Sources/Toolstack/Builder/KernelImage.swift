import GuestMemory
import Hypervisor
import XenABI

/// The toolstack's view of a PVH kernel file: `ELFImage` + `PVHBuilder` behind the two calls
/// `petrel run` makes, with failures as `ToolstackError.build` one-line messages.
public struct KernelImage: Sendable {
    public let elf: ELFImage

    public init(elf: ELFImage) { self.elf = elf }

    /// Parses a kernel file's bytes; `path` prefixes error messages.
    public static func parse(_ bytes: [UInt8], path: String) throws(ToolstackError) -> KernelImage {
        do { return KernelImage(elf: try ELFImage(bytes: bytes, name: path)) } catch {
            throw .build(error.description)
        }
    }

    /// Loads the kernel and its start info into `memory` and returns where vCPU 0 starts.
    public func load(into memory: GuestPhysicalMemory, memmap: [HVMMemmapEntry], cmdline: String,
                     initrd: [UInt8]?) throws(ToolstackError) -> BootState {
        try layout(into: memory, memmap: memmap, cmdline: cmdline, initrd: initrd).bootState
    }

    /// As `load`, returning the whole layout (for logging).
    public func layout(into memory: GuestPhysicalMemory, memmap: [HVMMemmapEntry], cmdline: String,
                       initrd: [UInt8]?) throws(ToolstackError) -> PVHBootLayout {
        do {
            return try PVHBuilder.build(elf, into: memory, memoryMap: memmap, commandLine: cmdline,
                                        initrd: initrd.map { PVHModule(bytes: $0) })
        } catch {
            throw .build(error.description)
        }
    }
}

extension PVHBootLayout {
    /// The x86 PVH boot state: entry in 32-bit mode, EBX = start info.
    public var bootState: BootState { BootState(entry: UInt64(entry), bootParameter: startInfo.raw) }
}
