/// A set of physical CPUs, numbered 0 to `capacity - 1` (Xen's largest `NR_CPUS`), as xl's
/// `cpus` key and `xl vcpu-pin` name them.
public struct CPUSet: Sendable, Hashable, CustomStringConvertible {
    public static let capacity = 4096
    private var words: [UInt64]

    /// No CPU.
    public init() { words = [UInt64](repeating: 0, count: Self.capacity / 64) }

    /// Every CPU (xl's "all").
    public static var all: CPUSet {
        var s = CPUSet()
        s.words = [UInt64](repeating: .max, count: capacity / 64)
        return s
    }

    /// The given CPUs; those outside 0..<capacity are left out.
    public init<S: Sequence<Int>>(_ cpus: S) {
        self.init()
        for c in cpus { insert(c) }
    }

    public func contains(_ cpu: Int) -> Bool {
        guard (0..<Self.capacity).contains(cpu) else { return false }
        return words[cpu / 64] & (1 << UInt64(cpu % 64)) != 0
    }

    public mutating func insert(_ cpu: Int) {
        guard (0..<Self.capacity).contains(cpu) else { return }
        words[cpu / 64] |= 1 << UInt64(cpu % 64)
    }

    public mutating func remove(_ cpu: Int) {
        guard (0..<Self.capacity).contains(cpu) else { return }
        words[cpu / 64] &= ~(1 << UInt64(cpu % 64))
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
    public var isAll: Bool { words.allSatisfy { $0 == .max } }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The members, ascending.
    public var members: [Int] {
        var out: [Int] = []
        for (i, w) in words.enumerated() where w != 0 {
            for b in 0..<64 where w & (1 << UInt64(b)) != 0 { out.append(i * 64 + b) }
        }
        return out
    }

    /// The members below `limit` (the host's CPU count), ascending.
    public func members(below limit: Int) -> [Int] { members.filter { $0 < limit } }

    /// xl's notation: "all", or ranges such as "0-3,5"; "" for the empty set.
    public var description: String {
        if isAll { return "all" }
        var parts: [String] = []
        var runStart: Int?
        var previous = -2
        for c in members {
            if c != previous + 1 {
                if let s = runStart { parts.append(s == previous ? "\(s)" : "\(s)-\(previous)") }
                runStart = c
            }
            previous = c
        }
        if let s = runStart { parts.append(s == previous ? "\(s)" : "\(s)-\(previous)") }
        return parts.joined(separator: ",")
    }

    /// Parses xl's CPU list (`parse_cpurange` in xl_parse.c): comma-separated items, applied in
    /// order, each "all", a CPU "N" or a range "N-M", and each may start with "^" to remove
    /// CPUs instead of adding them ("0-7,^3"). Empty items are skipped, as strtok skips them.
    /// NUMA node items ("nodes:0") are refused: Petrel does not model NUMA nodes.
    /// The reason for a refusal is a phrase for an error message.
    public init(parsing spec: String) throws(CPUSetError) {
        self.init()
        for raw in spec.split(separator: ",", omittingEmptySubsequences: true) {
            var item = Substring(raw)
            let remove = item.hasPrefix("^")
            if remove { item = item.dropFirst() }
            if item.hasPrefix("node:") || item.hasPrefix("nodes:") {
                throw CPUSetError("\"\(raw)\": NUMA nodes are not supported by Petrel; name CPUs")
            }
            if item == "all" {
                guard !remove else { throw CPUSetError("\"\(raw)\": can't combine \"^\" and \"all\"") }
                self = .all
                continue
            }
            guard let range = Self.range(item) else { throw CPUSetError("\"\(raw)\" is not a CPU, a range N-M or \"all\"") }
            guard range.upperBound < Self.capacity else {
                throw CPUSetError("\"\(raw)\": CPU \(range.upperBound) is beyond the \(Self.capacity) CPUs Petrel supports")
            }
            for c in range { remove ? self.remove(c) : insert(c) }
        }
    }

    /// "N" or "N-M" with M >= N, decimal (xl's `parse_range`, which skips leading blanks).
    private static func range(_ item: Substring) -> ClosedRange<Int>? {
        let parts = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        func number(_ s: Substring) -> Int? {
            let digits = s.drop { $0 == " " || $0 == "\t" }
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits)
        }
        guard let a = number(parts[0]) else { return nil }
        guard parts.count == 2 else { return a...a }
        guard let b = number(parts[1]), b >= a else { return nil }
        return a...b
    }
}

/// Why a CPU list was refused: a phrase naming the bad item.
public struct CPUSetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Which physical CPUs a domain's vCPUs may run on (xl's `cpus`, the hard affinity).
public enum CPUAffinity: Sendable, Equatable {
    /// One set for every vCPU: `cpus = "0-3,^1"`.
    case uniform(CPUSet)
    /// One set per vCPU, in vCPU order: `cpus = ["0", "2-3"]`. vCPUs past the end of the list
    /// may run anywhere (as in xl).
    case perVCPU([CPUSet])

    /// The CPUs vCPU `vcpu` may run on.
    public func cpus(forVCPU vcpu: Int) -> CPUSet {
        switch self {
        case .uniform(let s): s
        case .perVCPU(let l): l.indices.contains(vcpu) ? l[vcpu] : .all
        }
    }
}
