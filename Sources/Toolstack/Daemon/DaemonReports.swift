import HostOS
import Hypervisor
import XenABI

/// What `list`, `vcpu-list` and `info` report, in xl's terms.
enum DaemonReports {
    /// Domain 0 first, as xl lists it: Petrel's own process (memory = its resident set).
    static func list(_ daemon: PetrelDaemon) -> [DomainSummary] {
        let rss = UInt64(max(0, Host.threadsAndRSS()?.rssKiB ?? 0)) >> 10
        let dom0 = DomainSummary(name: "Domain-0", id: 0, memMiB: rss, vcpus: Host.onlineCPUCount, state: "r-----",
                                 timeSeconds: Host.processCPUSeconds)
        return [dom0] + daemon.allDomains.map { m in
            DomainSummary(name: m.spec.name, id: Int(m.id.raw), memMiB: m.spec.memoryMiB, vcpus: m.spec.vcpus,
                          state: m.stateLetters, timeSeconds: m.cpuSeconds)
        }
    }

    static func vcpus(of m: ManagedDomain, in daemon: PetrelDaemon) -> [VCPUSummary] {
        let placements = daemon.placements(of: m.domain)
        return m.domain.vcpus.map { v in
            let r = v.report
            let paused = m.domain.isPaused
            let letters = m.phase != .running ? "---"
                : (r.state == .running || r.state == .runnable) && !paused ? "r--"
                : r.state == .blocked && !paused ? "-b-" : paused ? "--p" : "---"
            let p = placements[v.id]
            let affinity: String = switch p?.hard ?? .all {
            case .all: "all"
            case .only(let set): CPUList.format(set.map { Int($0.raw) })
            }
            return VCPUSummary(name: m.spec.name, id: Int(m.id.raw), vcpu: Int(v.id.raw),
                               cpu: m.phase == .running ? p?.cpu.map { Int($0.raw) } : nil,
                               state: letters, timeSeconds: Double(r.runningNanoseconds) / 1e9, affinity: affinity,
                               tid: m.phase == .running ? p?.thread.map { Int($0.tid) } : nil)
        }
    }

    static func info(_ daemon: PetrelDaemon) -> [InfoField] {
        let (threads, rss) = Host.threadsAndRSS() ?? (-1, -1)
        let domains = daemon.allDomains
        return [
            InfoField(key: "host", value: Host.hostName),
            InfoField(key: "nr_cpus", value: String(Host.onlineCPUCount)),
            InfoField(key: "total_memory", value: String(Host.physicalMemoryMiB)),
            InfoField(key: "xen_version", value: "\(XenRelease.major).\(XenRelease.minor) (Petrel)"),
            InfoField(key: "xen_caps", value: "hvm-3.0-x86_64"),
            InfoField(key: "engine", value: daemon.engine.name),
            InfoField(key: "domains", value: String(domains.count)),
            InfoField(key: "domain_memory", value: String(domains.reduce(UInt64(0)) { $0 + $1.spec.memoryMiB })),
            InfoField(key: "state_dir", value: daemon.stateDir),
            InfoField(key: "daemon_threads", value: String(threads)),
            InfoField(key: "daemon_rss_kib", value: String(rss)),
            InfoField(key: "daemon_fds", value: String(Host.openFileDescriptorCount())),
        ]
    }
}

/// xl's CPU list syntax ("0-3,5").
enum CPUList {
    static func format(_ cpus: [Int]) -> String {
        let s = Array(Set(cpus)).sorted()
        var parts: [String] = []
        var i = 0
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
