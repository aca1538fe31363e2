import HostOS

/// Failures of the KVM engine, one case per failing operation.
public enum KVMError: Error, CustomStringConvertible {
    /// /dev/kvm is missing or can't be opened.
    case unavailable(HostError)
    case apiVersion(Int32)
    case missingCapability(String)
    case ioctl(String, HostError)

    public var description: String {
        switch self {
        case .unavailable(let e):
            "KVM is not available (\(e)); Petrel needs a readable and writable /dev/kvm"
        case .apiVersion(let v): "unsupported KVM API version \(v) (need 12)"
        case .missingCapability(let c): "this host's KVM lacks \(c), which Petrel needs"
        case .ioctl(let what, let e): "KVM \(what) failed: \(e.errno)"
        }
    }
}
