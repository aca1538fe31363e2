import Synchronization

/// What changed between two scans of the host's CPUs (CPU hot-plug, or `echo 0 > online`).
/// Indexes are Linux CPU numbers, ascending.
public struct HostCPUChanges: Sendable, Equatable {
    /// Present now, not present (or not possible) before.
    public var added: [Int] = []
    /// Present before, not present (or not possible) now.
    public var removed: [Int] = []
    /// Present in both scans, offline before and online now.
    public var onlined: [Int] = []
    /// Present in both scans, online before and offline now.
    public var offlined: [Int] = []

    public init(added: [Int] = [], removed: [Int] = [], onlined: [Int] = [], offlined: [Int] = []) {
        self.added = added; self.removed = removed; self.onlined = onlined; self.offlined = offlined
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && onlined.isEmpty && offlined.isEmpty }
}

extension HostCPUTopology {
    /// The changes from `old` to this scan. A CPU removed and added again between the two
    /// scans looks unchanged unless its state differs; rescanning is what a hot-plug event
    /// (or the daemon's periodic check) triggers.
    public func changes(since old: HostCPUTopology) -> HostCPUChanges {
        var c = HostCPUChanges()
        let before = Dictionary(old.cpus.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(cpus.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        for index in Set(before.keys).union(after.keys).sorted() {
            let wasPresent = before[index]?.present ?? false
            let isPresent = after[index]?.present ?? false
            switch (wasPresent, isPresent) {
            case (false, true): c.added.append(index)
            case (true, false): c.removed.append(index)
            case (true, true):
                let was = before[index]!.online, now = after[index]!.online
                if !was && now { c.onlined.append(index) }
                if was && !now { c.offlined.append(index) }
            case (false, false): break
            }
        }
        return c
    }
}

/// Keeps the last scan of the host's CPUs so each `rescan` reports what changed since.
///
/// Locking: one mutex over the last scan; a rescan reads the files with it held, so two
/// rescans never report the same change twice.
public final class HostCPUScanner: Sendable {
    public let root: String
    private let last = Mutex<HostCPUTopology?>(nil)

    public init(root: String = "/") { self.root = root }

    /// The previous scan (nil before the first).
    public var current: HostCPUTopology? { last.withLock { $0 } }

    /// Scans again and returns the new topology with the changes since the previous scan
    /// (the first scan reports every present CPU as added).
    public func rescan() throws(HostCPUError) -> (topology: HostCPUTopology, changes: HostCPUChanges) {
        try last.withLock { (last: inout HostCPUTopology?) throws(HostCPUError) in
            let now = try HostCPUTopology.scan(root: root)
            let changes = now.changes(since: last ?? HostCPUTopology(cpus: [], madt: nil, acpiSource: .madt))
            last = now
            return (now, changes)
        }
    }
}
