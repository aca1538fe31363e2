import Foundation
@testable import HostOS

/// A fake host written into a temporary directory: sysfs CPU masks and directories,
/// /proc/cpuinfo, and an ACPI MADT, for `HostCPUTopology.scan(root:)`.
final class HostCPUFixture {
    struct CPU {
        var index: Int
        var present = true
        var online = true
        var apicID: UInt32
        var acpiID: UInt32
        /// Listed in the MADT (an enabled entry if present, else online-capable).
        var inMADT = true
    }

    let root: String
    var cpus: [CPU]
    /// Bytes to write as the MADT instead of one built from `cpus` (nil: build it; empty: no file).
    var madtOverride: [UInt8]?
    var writeOnlineMask = true
    var writePresentMask = true

    init(cpus: [CPU]) throws {
        // A tmpfs if there is one: a fixture is about a thousand small files.
        let shm = URL(fileURLWithPath: "/dev/shm")
        let base = FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
        let dir = base.appendingPathComponent("petrel-cpu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        root = dir.path
        self.cpus = cpus
        try write()
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// 256 possible CPUs: 200-209 not present; 5, 17 and 100 offline; APIC ids sparse and
    /// unlike the index (x2APIC ids above 255 from CPU 128 on); ACPI ids unlike both.
    static func big() throws -> HostCPUFixture { try HostCPUFixture(cpus: bigCPUs) }

    static let bigCPUs: [CPU] = (0..<256).map { i in
        CPU(index: i, present: !(200..<210).contains(i), online: ![5, 17, 100].contains(i) && !(200..<210).contains(i),
            apicID: apic(i), acpiID: acpi(i))
    }

    static func apic(_ i: Int) -> UInt32 { i < 128 ? UInt32(i * 2 + 1) : UInt32(0x1000 + i * 8) }
    static func acpi(_ i: Int) -> UInt32 { i < 128 ? UInt32(255 - i) : UInt32(1000 + i * 7) }

    func path(_ rel: String) -> String { root + "/" + rel }

    func put(_ rel: String, _ text: String) throws {
        let p = path(rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
    }

    func putBytes(_ rel: String, _ bytes: [UInt8]) throws {
        let p = path(rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
    }

    func remove(_ rel: String) { try? FileManager.default.removeItem(atPath: path(rel)) }

    /// Writes (or rewrites) the whole tree from `cpus`.
    func write() throws {
        remove("sys")
        remove("proc")
        let cpuDir = "sys/devices/system/cpu"
        try put("\(cpuDir)/possible", list(cpus.map(\.index)) + "\n")
        if writePresentMask { try put("\(cpuDir)/present", list(cpus.filter(\.present).map(\.index)) + "\n") }
        if writeOnlineMask { try put("\(cpuDir)/online", list(cpus.filter { $0.present && $0.online }.map(\.index)) + "\n") }
        try put("\(cpuDir)/kernel_max", "8191\n")
        var cpuinfo = ""
        for c in cpus where c.present {
            let d = "\(cpuDir)/cpu\(c.index)"
            try put("\(d)/uevent", "DRIVER=processor\n")
            // cpu0 has no online file, as on x86 where it cannot be unplugged.
            if c.index != 0 { try put("\(d)/online", c.online ? "1\n" : "0\n") }
            guard c.online else { continue }
            try put("\(d)/topology/core_id", "\(c.index / 2)\n")
            try put("\(d)/topology/physical_package_id", "\(c.index / 64)\n")
            cpuinfo += """
                processor\t: \(c.index)
                vendor_id\t: FakeVendor
                model name\t: Test CPU (with: colons)
                physical id\t: \(c.index / 64)
                apicid\t\t: \(c.apicID)
                initial apicid\t: \(c.apicID)
                flags\t\t: fpu apic x2apic

                """
        }
        try put("proc/cpuinfo", cpuinfo)
        let madt = madtOverride ?? Self.madt(cpus)
        if !madt.isEmpty { try putBytes("sys/firmware/acpi/tables/APIC", madt) }
    }

    /// "0-3,5,7-9".
    func list(_ xs: [Int]) -> String {
        var out: [String] = []
        var i = 0
        let s = xs.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            out.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return out.joined(separator: ",")
    }

    // MARK: MADT bytes

    /// A MADT with an I/O APIC, an interrupt source override, type 0 entries for APIC ids up
    /// to 254 and type 9 entries above, checksum fixed.
    static func madt(_ cpus: [CPU]) -> [UInt8] {
        var entries: [UInt8] = []
        entries += [1, 12, 0, 0] + le32(0xFEC0_0000) + le32(0)   // I/O APIC
        entries += [2, 10, 0, 0] + le32(2) + [0, 0]                // interrupt source override
        for c in cpus where c.inMADT {
            let flags: UInt32 = c.present ? 1 : 2
            if c.apicID <= 254 && c.acpiID <= 255 {
                entries += [0, 8, UInt8(c.acpiID), UInt8(c.apicID)] + le32(flags)
            } else {
                entries += [9, 16, 0, 0] + le32(c.apicID) + le32(flags) + le32(c.acpiID)
            }
        }
        return table(entries)
    }

    /// Header + local APIC address + flags + `entries`, length and checksum filled in.
    static func table(_ entries: [UInt8], signature: String = "APIC") -> [UInt8] {
        var b = Array(signature.utf8) + le32(UInt32(44 + entries.count)) + [5, 0]
        b += Array("PETREL".utf8) + Array("TESTMADT".utf8) + le32(1) + le32(0x5445_5354) + le32(1)
        b += le32(0xFEE0_0000) + le32(1)
        b += entries
        fixChecksum(&b)
        return b
    }

    static func fixChecksum(_ b: inout [UInt8]) {
        b[9] = 0
        b[9] = 0 &- b.reduce(UInt8(0), &+)
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
