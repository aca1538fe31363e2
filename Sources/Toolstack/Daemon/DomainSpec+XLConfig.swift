extension DomainSpec {
    /// What `xl create` sends the daemon for a parsed xl.cfg (paths are already absolute).
    public init(config c: XLConfig) {
        let cpus: [[Int]]? = c.cpus.map { aff in
            (0..<c.vcpus).map { v in
                let set = aff.cpus(forVCPU: v)
                return set.isAll ? [] : set.members(below: CPUSet.capacity)
            }
        }
        self.init(name: c.name, kernel: c.kernel, ramdisk: c.ramdisk, cmdline: c.cmdline, memoryMiB: c.memoryMiB,
                  maxMemoryMiB: c.maxMemoryMiB, vcpus: c.vcpus, cpus: cpus,
                  onPoweroff: Action(c.onPoweroff), onReboot: Action(c.onReboot), onCrash: Action(c.onCrash),
                  maxGrantFrames: c.maxGrantFrames, maxEventChannels: c.maxEventChannels, privileged: c.privileged)
    }
}

extension DomainSpec.Action {
    init(_ a: XLConfig.ShutdownAction) {
        switch a {
        case .destroy: self = .destroy
        case .restart: self = .restart
        case .preserve: self = .preserve
        }
    }
}
