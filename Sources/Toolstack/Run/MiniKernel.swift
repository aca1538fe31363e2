import HostOS

/// Finds PetrelOS-mini (`Guests/MiniPVH`, the minimal PVH guest `petrel bench boot` boots):
/// `$PETREL_MINI_KERNEL`, else `minipvh.elf` beside the PetrelOS image `DemoKernel` finds
/// (both guests' build scripts write the same directory).
public enum MiniKernel {
    public static let fileName = "minipvh.elf"

    public static func locate() throws(ToolstackError) -> String {
        if let p = HostProcess.environment("PETREL_MINI_KERNEL") { return p }
        let demo: String
        do { demo = try DemoKernel.locate() } catch {
            throw .engine("the minimal PVH guest is not built (no guest directory found: \(error)); run Guests/MiniPVH/build.sh")
        }
        let dir = demo.lastIndex(of: "/").map { String(demo[..<$0]) } ?? "."
        let candidate = dir + "/" + fileName
        guard HostProcess.fileExists(candidate) else {
            throw .engine("the minimal PVH guest is not built (looked in \(candidate)); run Guests/MiniPVH/build.sh")
        }
        return candidate
    }
}
