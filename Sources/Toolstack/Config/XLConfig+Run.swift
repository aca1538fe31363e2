import Hypervisor

/// What `petrel run FILE` names (`XLConfig.openRunFile`).
public enum RunFile: Sendable, Equatable {
    /// An ELF kernel image, booted with the command-line options.
    case kernel
    /// An xl.cfg, read and checked.
    case config(XLConfig)
}

extension XLConfig {
    /// The engine-neutral domain this config describes. The domain is created with `maxvcpus`
    /// vCPUs (the guest brings up the ones it wants) and sized for `memory`, with `maxmem` as
    /// its ceiling.
    public var domainConfig: DomainConfig {
        DomainConfig(name: name, memoryBytes: memoryMiB << 20, maxMemoryBytes: maxMemoryMiB << 20, vcpus: maxVCPUs,
                     privileged: privileged, maxGrantFrames: maxGrantFrames, maxEventChannels: maxEventChannels,
                     handle: uuid)
    }

    /// What `petrel run` boots for this config. `cpus` and the `on_*` actions are not part of a
    /// foreground run: it runs the domain once and reports how it ended.
    public var runOptions: RunOptions {
        var o = RunOptions(kernelPath: kernel, memoryMiB: memoryMiB, cmdline: cmdline, initrdPath: ramdisk,
                           name: name, vcpus: maxVCPUs)
        o.privileged = privileged
        o.maxMemoryMiB = maxMemoryMiB
        o.maxGrantFrames = maxGrantFrames
        o.maxEventChannels = maxEventChannels
        o.handle = uuid
        return o
    }
}

extension RunOptions {
    /// The domain these options describe.
    public var domainConfig: DomainConfig {
        DomainConfig(name: name, memoryBytes: memoryMiB << 20, maxMemoryBytes: maxMemoryMiB.map { $0 << 20 }, vcpus: vcpus,
                     privileged: privileged, maxGrantFrames: maxGrantFrames ?? 32,
                     maxEventChannels: maxEventChannels ?? 1023, handle: handle)
    }
}
