import Glibc

extension HostProcess {
    /// The process's working directory (`getcwd`), or nil if it cannot be named (removed,
    /// or longer than PATH_MAX).
    public static var workingDirectory: String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return nil }
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
