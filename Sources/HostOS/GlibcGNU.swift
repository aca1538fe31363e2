import Glibc

/// glibc functions that its headers declare only under `_GNU_SOURCE`, which Swift's Glibc
/// module is not built with: looked up by name in the process's own glibc, once.
enum GlibcGNU {
    typealias GetTID = @convention(c) () -> Int32
    /// `int sched_setaffinity(pid_t, size_t, const cpu_set_t *)`.
    typealias SetAffinity = @convention(c) (Int32, Int, UnsafeRawPointer?) -> Int32
    /// `int sched_getaffinity(pid_t, size_t, cpu_set_t *)`.
    typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer?) -> Int32

    nonisolated(unsafe) private static let handle = dlopen(nil, RTLD_NOW)

    static let gettid: GetTID? = lookup("gettid")
    static let schedSetaffinity: SetAffinity? = lookup("sched_setaffinity")
    static let schedGetaffinity: GetAffinity? = lookup("sched_getaffinity")

    private static func lookup<F>(_ name: String) -> F? {
        guard let sym = dlsym(handle, name) else { return nil }
        // SAFETY: `F` is the C prototype glibc documents for `name` (see the typealiases).
        return unsafeBitCast(sym, to: F.self)
    }
}
