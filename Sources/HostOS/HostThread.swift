import Glibc

/// A joinable host thread (one per vCPU), with a way to interrupt a blocking system call in it.
/// `kick()` sends SIGUSR1, whose handler does nothing and is installed without SA_RESTART, so
/// an ioctl such as KVM_RUN returns EINTR.
public final class HostThread: @unchecked Sendable {
    private var thread: pthread_t
    private let body: Box
    public private(set) var name: String = ""

    private final class Box {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(HostError) {
        HostThread.installKickHandler()
        self.body = Box(body)
        var t = pthread_t()
        let ctx = Unmanaged.passRetained(self.body).toOpaque()
        let rc = pthread_create(&t, nil, { raw in
            // SAFETY: `raw` is the retained Box passed below; balanced by takeRetainedValue.
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            // Kicks must interrupt this thread even if whoever started the process blocked
            // SIGUSR1 (the signal mask is inherited across exec and thread creation).
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            box.run()
            return nil
        }, ctx)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(ctx).release()
            throw HostError("pthread_create", .init(rawValue: rc))
        }
        thread = t
        self.name = name
    }

    public func join() {
        pthread_join(thread, nil)
    }

    /// Interrupts a blocking system call in this thread (it returns EINTR).
    public func kick() {
        pthread_kill(thread, SIGUSR1)
    }

    private static let kickOnce: Void = {
        var sa = sigaction()
        sa.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&sa.sa_mask)
        sa.sa_flags = 0  // no SA_RESTART: blocking calls return EINTR
        sigaction(SIGUSR1, &sa, nil)
    }()

    static func installKickHandler() { _ = kickOnce }
}
