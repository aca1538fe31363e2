import SystemPackage

/// One of the host's possible CPUs, as Linux and the firmware describe it. Three numbering
/// schemes meet here and are never mixed up: Linux's CPU `index` (what affinity masks and
/// sysfs use), the `apicID` (the interrupt controller's id, from /proc/cpuinfo), and the
/// `acpiID` (the firmware's processor id, from the MADT entry with that APIC id).
public struct HostCPU: Sendable, Equatable {
    /// Linux's CPU number (`cpuN` in sysfs, bit N in affinity masks).
    public var index: Int
    /// In Linux's present mask: the CPU exists in the machine now.
    public var present: Bool
    /// In Linux's online mask: the host schedules threads on it.
    public var online: Bool
    /// The (x2)APIC id, from /proc/cpuinfo's "apicid" ("initial apicid" if absent). Linux
    /// lists only online CPUs there: nil for an offline CPU, or on a host without APICs.
    public var apicID: UInt32?
    /// The ACPI processor id (type 0) or UID (type 9) of the MADT entry with this CPU's APIC
    /// id: nil when the APIC id or the MADT is unknown, or the MADT does not list it.
    public var acpiID: UInt32?
    /// topology/core_id and topology/physical_package_id (nil when the files are absent,
    /// as they are for an offline CPU).
    public var coreID: Int?
    public var packageID: Int?

    public init(index: Int, present: Bool, online: Bool, apicID: UInt32? = nil, acpiID: UInt32? = nil,
                coreID: Int? = nil, packageID: Int? = nil) {
        self.index = index; self.present = present; self.online = online
        self.apicID = apicID; self.acpiID = acpiID; self.coreID = coreID; self.packageID = packageID
    }
}

/// The host's CPUs, read from a root directory (normally "/"): sysfs's possible, present
/// and online masks and per-CPU directories, /proc/cpuinfo for APIC ids, and the ACPI MADT
/// for ACPI processor ids. Tests point `root` at a fixture tree.
public struct HostCPUTopology: Sendable, Equatable {
    /// Where the ACPI processor ids came from, or why there are none.
    public enum ACPISource: Sendable, Equatable {
        /// Parsed from the MADT.
        case madt
        /// The table could not be read (absent in a container, or not root: the file is 0400).
        case unreadable(path: String, errno: Errno)
        /// The table was read but is corrupt; ACPI ids stay unknown.
        case malformed(MADTError)
    }

    /// Every possible CPU, by ascending index.
    public var cpus: [HostCPU]
    public var madt: ACPIMADT?
    public var acpiSource: ACPISource

    public init(cpus: [HostCPU], madt: ACPIMADT?, acpiSource: ACPISource) {
        self.cpus = cpus.sorted { $0.index < $1.index }
        self.madt = madt
        self.acpiSource = acpiSource
    }

    public func cpu(index: Int) -> HostCPU? { cpus.first { $0.index == index } }
    /// The CPU whose APIC id is `apicID` (known for online CPUs only).
    public func cpu(apicID: UInt32) -> HostCPU? { cpus.first { $0.apicID == apicID } }
    /// The CPU whose ACPI processor id is `acpiID`.
    public func cpu(acpiID: UInt32) -> HostCPU? { cpus.first { $0.acpiID == acpiID } }

    public var present: [HostCPU] { cpus.filter(\.present) }
    public var online: [HostCPU] { cpus.filter(\.online) }

    /// A problem worth logging about the ACPI ids (nil when the MADT was parsed cleanly).
    public var acpiNote: String? {
        switch acpiSource {
        case .madt: madt?.checksumValid == false ? "the ACPI MADT's checksum is wrong (used anyway)" : nil
        case .unreadable(let path, let e): "ACPI processor ids unknown: \(path): \(e)"
        case .malformed(let e): "ACPI processor ids unknown: \(e)"
        }
    }

    /// The largest CPU count a mask may name: Linux's NR_CPUS tops out at 8192; anything
    /// beyond this is a corrupt file, not a machine.
    public static let maxCPUs = 65536

    static let cpuDir = "sys/devices/system/cpu"
    static let madtPath = "sys/firmware/acpi/tables/APIC"
    static let cpuinfoPath = "proc/cpuinfo"

    /// Reads the host's CPUs under `root`. Throws only if the possible mask cannot be read or
    /// a mask or /proc/cpuinfo is garbled; a missing or corrupt MADT leaves ACPI ids unknown
    /// (see `acpiSource`), a missing /proc/cpuinfo leaves APIC ids unknown.
    public static func scan(root: String = "/") throws(HostCPUError) -> HostCPUTopology {
        let base = root.hasSuffix("/") ? root : root + "/"
        let dir = base + cpuDir
        guard let possibleText = try readText(dir + "/possible") else {
            throw .unreadable(path: dir + "/possible", errno: .noSuchFileOrDirectory)
        }
        let possible = try parseCPUList(possibleText, path: dir + "/possible")
        let present = try readText(dir + "/present").map { t throws(HostCPUError) in
            Set(try parseCPUList(t, path: dir + "/present"))
        }
        let online = try readText(dir + "/online").map { t throws(HostCPUError) in
            Set(try parseCPUList(t, path: dir + "/online"))
        }
        let apicIDs = try readText(base + cpuinfoPath).map { t throws(HostCPUError) in
            try parseCPUInfo(t, path: base + cpuinfoPath)
        } ?? [:]

        let madtFile = base + madtPath
        var madt: ACPIMADT?
        let source: ACPISource
        do {
            let bytes = try Host.readFile(madtFile, limit: 1 << 20)
            do {
                madt = try ACPIMADT.parse(bytes)
                source = .madt
            } catch {
                source = .malformed(error)
            }
        } catch {
            source = .unreadable(path: madtFile, errno: error.errno)
        }

        var cpus: [HostCPU] = []
        for index in possible {
            let cpuPath = dir + "/cpu\(index)"
            // Without a present mask, a cpuN directory means the CPU is there.
            let isPresent: Bool
            if let present {
                isPresent = present.contains(index)
            } else {
                isPresent = try readText(cpuPath + "/uevent") != nil
            }
            // Without an online mask, cpuN/online says; cpu0 often has no such file (it cannot
            // be unplugged) and is online whenever present.
            let isOnline: Bool
            if let online {
                isOnline = online.contains(index)
            } else if let flag = try readText(cpuPath + "/online") {
                isOnline = flag.trimmed == "1"
            } else {
                isOnline = isPresent
            }
            let apic = isOnline ? apicIDs[index] : nil
            cpus.append(HostCPU(index: index, present: isPresent, online: isOnline && isPresent,
                                apicID: apic,
                                acpiID: apic.flatMap { madt?.processor(apicID: $0)?.acpiID },
                                coreID: try readInt(cpuPath + "/topology/core_id"),
                                packageID: try readInt(cpuPath + "/topology/physical_package_id")))
        }
        return HostCPUTopology(cpus: cpus, madt: madt, acpiSource: source)
    }

    // MARK: Parsing

    /// Parses a Linux CPU list ("0-3,8,10-11"; empty or "\n" is no CPUs), ascending, unique.
    public static func parseCPUList(_ text: String, path: String = "cpu list") throws(HostCPUError) -> [Int] {
        var out = Set<Int>()
        let trimmed = text.trimmed
        if trimmed.isEmpty { return [] }
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count),
                  let lo = Int(bounds[0]), let hi = Int(bounds[bounds.count - 1]),
                  lo >= 0, lo <= hi, hi < maxCPUs else {
                throw .malformed(path: path, detail: "bad CPU range \"\(part)\" in \"\(trimmed)\"")
            }
            out.formUnion(lo...hi)
        }
        return out.sorted()
    }

    /// Linux CPU index → APIC id, from /proc/cpuinfo's blocks ("processor : N" with
    /// "apicid : A", else "initial apicid : A"). A block without an APIC id (non-x86) is skipped.
    public static func parseCPUInfo(_ text: String, path: String = "/proc/cpuinfo") throws(HostCPUError) -> [Int: UInt32] {
        var out: [Int: UInt32] = [:]
        var processor: Int?
        var apic: UInt32?
        var initialAPIC: UInt32?
        func flush() {
            if let p = processor, let a = apic ?? initialAPIC { out[p] = a }
            processor = nil; apic = nil; initialAPIC = nil
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                if String(line).trimmed.isEmpty { flush() }
                continue
            }
            let key = String(line[..<colon]).trimmed
            let value = String(line[line.index(after: colon)...]).trimmed
            switch key {
            case "processor":
                flush()
                guard let p = Int(value), p >= 0, p < maxCPUs else {
                    throw .malformed(path: path, detail: "bad processor number \"\(value)\"")
                }
                processor = p
            case "apicid", "initial apicid":
                guard let a = UInt32(value) else {
                    throw .malformed(path: path, detail: "bad \(key) \"\(value)\"")
                }
                if key == "apicid" { apic = a } else { initialAPIC = a }
            default:
                break
            }
        }
        flush()
        return out
    }

    // MARK: Files

    /// A file's text, or nil if it does not exist (or cannot be read: sysfs hides files).
    static func readText(_ path: String) throws(HostCPUError) -> String? {
        do {
            return String(decoding: try Host.readFile(path, limit: 16 << 20), as: UTF8.self)
        } catch {
            switch error.errno {
            case .noSuchFileOrDirectory, .notDirectory, .permissionDenied, .notPermitted:
                return nil
            default:
                throw .unreadable(path: path, errno: error.errno)
            }
        }
    }

    static func readInt(_ path: String) throws(HostCPUError) -> Int? {
        guard let t = try readText(path) else { return nil }
        guard let v = Int(t.trimmed) else { throw .malformed(path: path, detail: "not a number: \"\(t.trimmed)\"") }
        return v
    }
}

/// Why the host's CPUs could not be read.
public enum HostCPUError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, errno: Errno)
    case malformed(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let e): "\(path): \(e)"
        case .malformed(let path, let detail): "\(path): \(detail)"
        }
    }
}

fileprivate extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmed: String {
        var s = Substring(self)
        while let c = s.last, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropLast() }
        while let c = s.first, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropFirst() }
        return String(s)
    }
}
