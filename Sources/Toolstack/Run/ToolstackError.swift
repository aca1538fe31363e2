import HostOS

/// Failures the toolstack reports to a user: each a one-line message.
public enum ToolstackError: Error, CustomStringConvertible {
    case readFile(path: String, HostError)
    case build(String)
    case badOption(String)
    case engine(String)
    case noDemoKernel([String])

    public var description: String {
        switch self {
        case .readFile(let path, let e):
            switch e.errno {
            case .noSuchFileOrDirectory: "\(path): no such file"
            case .isDirectory: "\(path): is a directory, not a kernel image"
            case .permissionDenied: "\(path): permission denied"
            default: "\(path): cannot read (\(e.errno))"
            }
        case .build(let m): m
        case .badOption(let m): m
        case .engine(let m): m
        case .noDemoKernel(let tried):
            "the bundled PetrelOS demo is not built (looked in \(tried.joined(separator: ", "))); run ./scripts/build-guests"
        }
    }
}
