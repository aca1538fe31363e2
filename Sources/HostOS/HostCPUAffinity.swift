import CHostOS
import Glibc

/// Thread CPU affinity by Linux thread id (`sched_setaffinity` / `sched_getaffinity` on a
/// tid, not a pthread), and where a thread of this process is running, from procfs.
/// CPU numbers are Linux CPU indexes (`HostCPU.index`).
public enum HostCPUAffinity {
    /// The calling thread's Linux thread id (`gettid`).
    public static func currentThreadID() -> Int32 { chostos_gettid() }

    /// Restricts thread `tid` (0: the caller) to `cpus`. The kernel moves the thread off any
    /// other CPU before the call returns. Empty or negative CPU numbers are EINVAL; so is a set
    /// with no CPU this process may use (its cpuset), as the kernel says.
    public static func set(_ cpus: [Int], thread tid: Int32) throws(HostError) {
        guard !cpus.isEmpty, cpus.allSatisfy({ $0 >= 0 && $0 < HostCPUTopology.maxCPUs }) else {
            throw HostError("sched_setaffinity", .invalidArgument)
        }
        var words = [UInt64](repeating: 0, count: maskWords(covering: cpus.max()!))
        for c in cpus { words[c / 64] |= 1 << UInt64(c % 64) }
        try Host.check("sched_setaffinity(\(tid))") {
            words.withUnsafeBytes { raw -> Int32 in
                // SAFETY: the kernel reads `raw.count` bytes of mask; glibc passes the pointer
                // and size through unchanged, so the buffer may be larger than cpu_set_t.
                chostos_sched_setaffinity(tid, raw.count, raw.baseAddress)
            }
        }
    }

    /// The CPUs thread `tid` (0: the caller) may run on, ascending.
    public static func get(thread tid: Int32) throws(HostError) -> [Int] {
        // The kernel wants room for nr_cpu_ids bits; grow until it fits.
        var words = 16
        while true {
            var mask = [UInt64](repeating: 0, count: words)
            let rc = mask.withUnsafeMutableBytes { raw -> Int32 in
                // SAFETY: the kernel writes at most `raw.count` bytes into the buffer.
                chostos_sched_getaffinity(tid, raw.count, raw.baseAddress)
            }
            if rc == 0 {
                var out: [Int] = []
                for (w, bits) in mask.enumerated() where bits != 0 {
                    for b in 0..<64 where bits & (1 << UInt64(b)) != 0 { out.append(w * 64 + b) }
                }
                return out
            }
            let e = Host.lastErrno
            if e == .invalidArgument && words * 64 < HostCPUTopology.maxCPUs { words *= 2; continue }
            if e == .interrupted { continue }
            throw HostError("sched_getaffinity(\(tid))", e)
        }
    }

    /// The CPU thread `tid` of this process last ran on (field 39 of /proc/self/task/TID/stat).
    public static func currentCPU(thread tid: Int32, procRoot: String = "/proc") throws(HostCPUError) -> Int {
        let path = "\(procRoot)/self/task/\(tid)/stat"
        guard let text = try HostCPUTopology.readText(path) else {
            throw .unreadable(path: path, errno: .noSuchProcess)
        }
        guard let cpu = parseStatProcessor(text) else {
            throw .malformed(path: path, detail: "no processor field")
        }
        return cpu
    }

    /// The CPUs thread `tid` of this process may run on, from /proc/self/task/TID/status's
    /// Cpus_allowed_list.
    public static func allowedCPUs(thread tid: Int32, procRoot: String = "/proc") throws(HostCPUError) -> [Int] {
        let path = "\(procRoot)/self/task/\(tid)/status"
        guard let text = try HostCPUTopology.readText(path) else {
            throw .unreadable(path: path, errno: .noSuchProcess)
        }
        for line in text.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return try HostCPUTopology.parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)), path: path)
        }
        throw .malformed(path: path, detail: "no Cpus_allowed_list")
    }

    /// Field 39 (`processor`) of a /proc/…/stat line. The command name (field 2) is in
    /// parentheses and may itself hold spaces and parentheses, so fields are counted from the
    /// last ")".
    public static func parseStatProcessor(_ stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
        // rest[0] is field 3 (state), so field 39 is rest[36].
        guard rest.count > 36, let cpu = Int(rest[36]), cpu >= 0 else { return nil }
        return cpu
    }

    /// 64-bit words for a mask that holds `cpu`, at least cpu_set_t's 1024 bits.
    static func maskWords(covering cpu: Int) -> Int { max(16, cpu / 64 + 1) }
}
