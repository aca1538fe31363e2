import Foundation
@testable import HostOS
import SystemPackage
import Testing

@Suite("HostCPUTopology: sysfs, /proc/cpuinfo and the MADT from a fixture tree")
struct HostCPUTopologyTests {
    @Test func readsEveryPossibleCPU() throws {
        let f = try HostCPUFixture.big()
        let t = try HostCPUTopology.scan(root: f.root)
        #expect(t.acpiSource == .madt)
        #expect(t.madt?.checksumValid == true)
        #expect(t.acpiNote == nil)
        #expect(t.cpus.count == 256)
        #expect(t.cpus.map(\.index) == Array(0..<256))
        #expect(t.present.count == 246)
        #expect(t.online.count == 243)
        #expect(t.online.map(\.index) == (0..<256).filter { ![5, 17, 100].contains($0) && !(200..<210).contains($0) })
    }

    @Test func idsComeFromTheirOwnSources() throws {
        let f = try HostCPUFixture.big()
        let t = try HostCPUTopology.scan(root: f.root)
        for c in t.online {
            #expect(c.apicID == HostCPUFixture.apic(c.index), "cpu\(c.index) APIC id")
            #expect(c.acpiID == HostCPUFixture.acpi(c.index), "cpu\(c.index) ACPI id")
            #expect(c.coreID == c.index / 2 && c.packageID == c.index / 64)
        }
        // An x2APIC CPU (type 9 entry, 32-bit ids).
        let c150 = try #require(t.cpu(index: 150))
        #expect(c150.apicID == 0x1000 + 150 * 8 && c150.acpiID == 1000 + 150 * 7)
        // Offline: present, but Linux lists no APIC id for it, so its ACPI id is unknown too.
        let c17 = try #require(t.cpu(index: 17))
        #expect(c17.present && !c17.online && c17.apicID == nil && c17.acpiID == nil && c17.coreID == nil)
        // Not present.
        let c205 = try #require(t.cpu(index: 205))
        #expect(!c205.present && !c205.online && c205.apicID == nil)
        // cpu0 has no online file and is online.
        #expect(t.cpu(index: 0)?.online == true)
    }

    @Test func lookupsNeverConflateTheThreeNumberings() throws {
        let f = try HostCPUFixture.big()
        let t = try HostCPUTopology.scan(root: f.root)
        // APIC id 37 is CPU 18 (2 * 18 + 1), and CPU 37 has APIC id 75; ACPI id 200 is CPU 55
        // (255 - 55), and CPU 200 (absent) has none.
        #expect(t.cpu(apicID: 37)?.index == 18)
        #expect(t.cpu(index: 37)?.apicID == 75)
        #expect(t.cpu(acpiID: 200)?.index == 55)
        #expect(t.cpu(index: 200)?.acpiID == nil)
        #expect(t.cpu(acpiID: 1000 + 150 * 7)?.index == 150)
        #expect(t.cpu(apicID: 0x1000 + 150 * 8)?.index == 150)
        // Numbers that exist in one space only.
        #expect(t.cpu(apicID: 2) == nil)
        #expect(t.cpu(acpiID: 0) == nil)
        #expect(t.cpu(index: 300) == nil)
        // The MADT lists the absent CPUs as online-capable, not enabled.
        let madt = try #require(t.madt)
        let absent = try #require(madt.processor(apicID: HostCPUFixture.apic(205)))
        #expect(!absent.enabled && absent.onlineCapable && absent.kind == .localX2APIC)
        #expect(madt.processor(acpiID: HostCPUFixture.acpi(3))?.kind == .localAPIC)
        #expect(madt.otherEntryTypes == [1, 2])
    }

    @Test func withoutTheMADTACPIIdsAreUnknown() throws {
        let f = try HostCPUFixture.big()
        f.madtOverride = []
        try f.write()
        let t = try HostCPUTopology.scan(root: f.root)
        #expect(t.acpiSource == .unreadable(path: f.root + "/sys/firmware/acpi/tables/APIC", errno: .noSuchFileOrDirectory))
        #expect(t.madt == nil)
        #expect(t.cpus.allSatisfy { $0.acpiID == nil })
        #expect(t.cpu(index: 3)?.apicID == 7)
        #expect(t.acpiNote?.contains("ACPI processor ids unknown") == true)
    }

    @Test func aCorruptMADTLeavesACPIIdsUnknownAndSaysWhy() throws {
        let f = try HostCPUFixture.big()
        var bad = HostCPUFixture.madt(f.cpus)
        bad[45] = 0  // the first entry's length
        f.madtOverride = bad
        try f.write()
        let t = try HostCPUTopology.scan(root: f.root)
        #expect(t.acpiSource == .malformed(.entryTooShort(offset: 44, type: 1, length: 0, minimum: 2)))
        #expect(t.cpus.allSatisfy { $0.acpiID == nil })
        #expect(t.online.count == 243)
        #expect(t.acpiNote?.contains("length 0") == true)
    }

    @Test func aBadChecksumIsReportedNotRefused() throws {
        let f = try HostCPUFixture.big()
        var b = HostCPUFixture.madt(f.cpus)
        b[9] &+= 1
        f.madtOverride = b
        try f.write()
        let t = try HostCPUTopology.scan(root: f.root)
        #expect(t.acpiSource == .madt && t.madt?.checksumValid == false)
        #expect(t.cpu(index: 3)?.acpiID == HostCPUFixture.acpi(3))
        #expect(t.acpiNote?.contains("checksum") == true)
    }

    @Test func withoutMasksTheCPUFilesSay() throws {
        let f = try HostCPUFixture.big()
        f.writeOnlineMask = false
        f.writePresentMask = false
        try f.write()
        let t = try HostCPUTopology.scan(root: f.root)
        #expect(t.present.count == 246)
        #expect(t.online.count == 243)
        #expect(t.cpu(index: 0)?.online == true)
        #expect(t.cpu(index: 5)?.online == false)
    }

    @Test func garbledFilesAreClearErrors() throws {
        let f = try HostCPUFixture(cpus: [.init(index: 0, apicID: 0, acpiID: 0), .init(index: 1, apicID: 1, acpiID: 1)])
        try f.put("sys/devices/system/cpu/online", "0-x\n")
        #expect(throws: HostCPUError.malformed(path: f.root + "/sys/devices/system/cpu/online",
                                               detail: "bad CPU range \"0-x\" in \"0-x\"")) {
            try HostCPUTopology.scan(root: f.root)
        }
        try f.write()
        try f.put("proc/cpuinfo", "processor\t: 0\napicid\t\t: lots\n")
        #expect(throws: HostCPUError.self) { try HostCPUTopology.scan(root: f.root) }
        try f.write()
        f.remove("sys/devices/system/cpu/possible")
        #expect(throws: HostCPUError.unreadable(path: f.root + "/sys/devices/system/cpu/possible",
                                                errno: .noSuchFileOrDirectory)) {
            try HostCPUTopology.scan(root: f.root)
        }
        // A missing /proc/cpuinfo only loses the APIC ids.
        try f.write()
        f.remove("proc/cpuinfo")
        let t = try HostCPUTopology.scan(root: f.root)
        #expect(t.online.count == 2 && t.cpus.allSatisfy { $0.apicID == nil && $0.acpiID == nil })
    }

    @Test(arguments: ["", "\n", "0", "0-3", "0-3,5", " 1,3-4,10-11\n", "7,2,2-3"])
    func cpuListsParse(_ text: String) throws {
        let expected: [String: [Int]] = [
            "": [], "\n": [], "0": [0], "0-3": [0, 1, 2, 3], "0-3,5": [0, 1, 2, 3, 5],
            " 1,3-4,10-11\n": [1, 3, 4, 10, 11], "7,2,2-3": [2, 3, 7],
        ]
        #expect(try HostCPUTopology.parseCPUList(text) == expected[text])
    }

    @Test(arguments: ["a", "1-", "-1", "3-1", "1,,2", "1-2-3", "0-99999999", "1 2"])
    func badCPUListsThrow(_ text: String) {
        #expect(throws: HostCPUError.self) { try HostCPUTopology.parseCPUList(text) }
    }

    @Test func cpuinfoPrefersAPICIdThenInitialAPICId() throws {
        let text = """
            processor\t: 0
            apicid\t\t: 4
            initial apicid\t: 9

            processor\t: 1
            initial apicid\t: 6

            processor\t: 2
            model name\t: no apic here

            """
        #expect(try HostCPUTopology.parseCPUInfo(text) == [0: 4, 1: 6])
        #expect(try HostCPUTopology.parseCPUInfo("") == [:])
        #expect(throws: HostCPUError.self) { try HostCPUTopology.parseCPUInfo("processor : -1\n") }
    }

    @Test func theRealHost() throws {
        let t = try HostCPUTopology.scan()
        #expect(t.online.count == Host.onlineCPUCount)
        #expect(t.cpus.count >= t.online.count)
        #expect(t.cpu(index: 0)?.online == true)
        // Distinct APIC ids for the online CPUs, and (where the MADT is readable) every online
        // CPU found in it.
        let apics = t.online.compactMap(\.apicID)
        #expect(Set(apics).count == apics.count)
        if case .madt = t.acpiSource, !apics.isEmpty {
            let madt = try #require(t.madt)
            #expect(madt.checksumValid)
            #expect(t.online.allSatisfy { $0.acpiID != nil })
            #expect(madt.processors.filter(\.enabled).count >= t.online.count)
        }
    }
}

@Suite("HostCPUTopology changes and rescans")
struct HostCPUChangesTests {
    @Test func aCPURemovedAndAddedBackBetweenScans() throws {
        let f = try HostCPUFixture.big()
        let scanner = HostCPUScanner(root: f.root)
        let first = try scanner.rescan()
        #expect(first.changes.added.count == 246)
        #expect(first.changes.removed.isEmpty && first.changes.onlined.isEmpty)
        // Unplug CPU 42.
        f.cpus[42].present = false
        f.cpus[42].online = false
        try f.write()
        let second = try scanner.rescan()
        #expect(second.changes == HostCPUChanges(removed: [42]))
        #expect(second.topology.cpu(index: 42)?.present == false)
        #expect(second.topology.cpu(apicID: HostCPUFixture.apic(42)) == nil)
        // Plug it back, with another APIC id; meanwhile CPU 7 went offline, CPU 5 online, and
        // CPU 205 arrived offline.
        f.cpus[42].present = true
        f.cpus[42].online = true
        f.cpus[42].apicID = 0x2000
        f.cpus[42].acpiID = 4242
        f.cpus[7].online = false
        f.cpus[5].online = true
        f.cpus[205].present = true
        try f.write()
        let third = try scanner.rescan()
        #expect(third.changes == HostCPUChanges(added: [42, 205], onlined: [5], offlined: [7]))
        #expect(third.topology.cpu(apicID: 0x2000)?.index == 42)
        #expect(third.topology.cpu(acpiID: 4242)?.index == 42)
        #expect(scanner.current == third.topology)
        // Nothing changed since.
        #expect(try scanner.rescan().changes.isEmpty)
    }

    @Test func changesBetweenTwoTopologies() {
        let a = HostCPUTopology(cpus: [HostCPU(index: 0, present: true, online: true),
                                       HostCPU(index: 1, present: true, online: true),
                                       HostCPU(index: 2, present: false, online: false)],
                                madt: nil, acpiSource: .madt)
        let b = HostCPUTopology(cpus: [HostCPU(index: 0, present: true, online: false),
                                       HostCPU(index: 2, present: true, online: true),
                                       HostCPU(index: 3, present: true, online: false)],
                                madt: nil, acpiSource: .madt)
        #expect(b.changes(since: a) == HostCPUChanges(added: [2, 3], removed: [1], offlined: [0]))
        #expect(a.changes(since: b) == HostCPUChanges(added: [1], removed: [2, 3], onlined: [0]))
        #expect(a.changes(since: a).isEmpty)
    }
}
