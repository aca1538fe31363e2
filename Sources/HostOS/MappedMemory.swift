import Glibc
import SystemPackage

/// An mmap'd host region. Owns the mapping: unmapped on deinit.
/// Immutable after creation; callers that share it across threads synchronise the contents
/// themselves (guest RAM is shared with vCPUs by design).
public final class MappedMemory: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let size: Int

    private init(base: UnsafeMutableRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    /// Anonymous, zero-filled private memory: one copy for every thread and for KVM (nothing
    /// forks), and cheaper to fault in and free than shared memory on this host.
    /// MAP_NORESERVE: guest RAM is committed lazily, on first touch.
    public static func anonymous(size: Int) throws(HostError) -> MappedMemory {
        precondition(size > 0)
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw HostError("mmap \(size) bytes", Host.lastErrno) }
        return MappedMemory(base: p, size: size)
    }

    /// Maps `size` bytes of a file descriptor (the KVM vCPU run area).
    public static func map(fd: FileDescriptor, size: Int, offset: Int = 0) throws(HostError) -> MappedMemory {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, off_t(offset))
        guard let p, p != MAP_FAILED else { throw HostError("mmap fd \(fd.rawValue)", Host.lastErrno) }
        return MappedMemory(base: p, size: size)
    }

    deinit {
        munmap(base, size)
    }
}
