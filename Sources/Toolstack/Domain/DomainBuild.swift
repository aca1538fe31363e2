import GuestMemory
import HostOS
import Hypervisor
import XenABI

/// Builds a PVH domain from a kernel file: read and parse the image, create the domain, lay out
/// its memory, attach its console, load the kernel and start info. `petrel run` and the daemon
/// both build this way; what happens after (engine, devices, supervision) is theirs.
struct DomainBuild {
    var kernelPath: String
    var initrdPath: String?
    var cmdline: String
    var config: DomainConfig

    /// The domain and where its boot vCPU starts. On failure nothing is left behind.
    func build(on hypervisor: Hypervisor, consoleSink: @escaping Console.Sink) throws(ToolstackError) -> (Domain, BootState) {
        let kernel: [UInt8]
        do { kernel = try Host.readFile(kernelPath, limit: 256 << 20) } catch { throw .readFile(path: kernelPath, error) }
        var initrd: [UInt8]?
        if let path = initrdPath {
            do { initrd = try Host.readFile(path, limit: 1 << 30) } catch { throw .readFile(path: path, error) }
        }
        let image = try KernelImage.parse(kernel, path: kernelPath)
        let domain: Domain
        do { domain = try hypervisor.createDomain(config) } catch { throw .engine("cannot create domain: \(error)") }
        do {
            let layout = DomainLayout(ramBytes: config.memoryBytes)
            try layout.populate(domain.memory)
            domain.memmap = layout.memmap
            try DomainDevices.attachConsole(to: domain, sink: consoleSink)
            let boot = try image.load(into: domain.memory, memmap: layout.memmap, cmdline: cmdline, initrd: initrd)
            return (domain, boot)
        } catch {
            hypervisor.removeDomain(domain.id)
            if let e = error as? ToolstackError { throw e }
            throw .build("\(kernelPath): cannot build the domain: \(error)")
        }
    }
}
