import CHostOS
import Glibc

/// A joinable host thread (one per vCPU), with a way to interrupt a blocking system call in it.
/// `kick()` sends SIGUSR1, whose handler does nothing and is installed without SA_RESTART, so
/// an ioctl such as KVM_RUN returns EINTR.
public final class HostThread: @unchecked Sendable {
    private var thread: pthread_t
    private let body: Box
    public private(set) var name: String = ""

    private final class Box {
        /// Dropped when it returns: whatever it captured must not live as long as the
        /// HostThread object (a vCPU's loop captures the machine that holds this thread).
        var run: (() -> Void)?
        /// Written once by the new thread before `started` opens; read only after it opened.
        var tid: Int32 = 0
        let started = Latch()
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// The thread's Linux thread id (for `HostCPUAffinity`), or nil until the thread has
    /// started. Once the thread has ended the kernel may hand the id to a new thread.
    public var tid: Int32? { body.started.opened ? body.tid : nil }

    /// Waits until the thread has started and returns its Linux thread id.
    public func waitForTID() -> Int32 {
        body.started.wait()
        return body.tid
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
            box.tid = HostCPUAffinity.currentThreadID()
            box.started.open()
            box.run?()
            box.run = nil
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

    /// Lets the thread's resources go when it ends, for a thread nobody joins (a connection's
    /// session). Call at most once, and never together with `join`.
    public func detach() {
        pthread_detach(thread)
    }

    /// Sets the calling thread's timer slack (prctl PR_SET_TIMERSLACK): how late the kernel
    /// may end its timed sleeps to batch wake-ups. Linux's default is 50 µs; threads that
    /// serve guest timers want 1 ns. Returns false if the kernel refused.
    @discardableResult
    public static func setCurrentTimerSlack(nanoseconds: UInt) -> Bool {
        chostos_set_timerslack(nanoseconds) == 0
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
