import Foundation
import GuestMemory
import Testing
import XenABI
@testable import Toolstack

/// Kernels built by real toolchains (the PetrelOS guest, plus any listed in
/// `PETREL_TEST_KERNELS`, colon-separated). Skipped where none is built.
enum RealKernels {
    static var paths: [String] {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let guests = repo.appendingPathComponent("build/guests")
        let built = ((try? FileManager.default.contentsOfDirectory(atPath: guests.path)) ?? [])
            .filter { $0.hasSuffix(".elf") }.sorted().map { guests.appendingPathComponent($0).path }
        let extra = (ProcessInfo.processInfo.environment["PETREL_TEST_KERNELS"] ?? "")
            .split(separator: ":").map(String.init)
        return built + extra
    }
}

@Suite("Domain builder: real toolchain-built kernels")
struct RealKernelTests {
    @Test(.enabled(if: !RealKernels.paths.isEmpty, "no built guest kernels (build/guests/*.elf) to load"),
          arguments: RealKernels.paths)
    func loadsRealKernel(path: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try ELFImage(bytes: bytes, name: path)
        let entry = try #require(image.xenNotes.phys32Entry)
        let (mem, map) = try Fixture.memory(ramSize: 64 << 20)
        let layout = try PVHBuilder.build(image, into: mem, memoryMap: map, commandLine: "test")
        #expect(layout.entry == entry)
        let info = HVMStartInfo(bytes: try mem.read(at: layout.startInfo, count: HVMStartInfo.size))
        #expect(info.magic == hvmStartMagic)
        for s in image.segments {
            let loaded = try mem.read(at: GPA(s.physicalAddress), count: Int(s.fileSize))
            #expect(loaded[...] == image.fileBytes(of: s))
        }
    }
}
