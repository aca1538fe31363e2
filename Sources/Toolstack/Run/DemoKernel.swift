import HostOS

/// Finds the bundled PetrelOS image: `$PETREL_DEMO_KERNEL`, else `build/guests/petrelos.elf`
/// in the checkout the running `petrel` was built in (found by walking up from the executable).
public enum DemoKernel {
    public static let relativePath = "build/guests/petrelos.elf"

    public static func locate() throws(ToolstackError) -> String {
        if let p = HostProcess.environment("PETREL_DEMO_KERNEL") { return p }
        var tried: [String] = []
        var dir = HostProcess.currentExecutable
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/"), slash != dir.startIndex else { break }
            dir = String(dir[..<slash])
            let candidate = dir + "/" + relativePath
            if HostProcess.fileExists(candidate) { return candidate }
            tried.append(candidate)
        }
        throw .noDemoKernel(Array(tried.prefix(3)))
    }
}
