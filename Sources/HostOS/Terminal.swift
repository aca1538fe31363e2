import Glibc
import Synchronization

/// The host terminal, for console clients (`petrel run`, `petrel console`): is a descriptor a
/// terminal, may we read it, and raw mode as `xl console` (xenconsole's `init_term`) sets it.
public enum Terminal {
    /// isatty(3).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// True if `fd` is a terminal and this process is in its foreground process group, so
    /// reading it, or changing its modes, does not stop us with SIGTTIN/SIGTTOU (a
    /// `petrel run … &` in a shell is in the background).
    public static func isForeground(_ fd: Int32) -> Bool {
        guard isTerminal(fd) else { return false }
        return tcgetpgrp(fd) == getpgrp()
    }

    /// Puts `fd` in raw mode if it is a terminal in our foreground (else nil, nothing done).
    /// The previous modes come back on `restore()`, and also if the process is killed by
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT meanwhile (see `Raw`).
    /// `outputProcessing` keeps OPOST (so "\n" from a guest that prints bare newlines still
    /// starts a line); xenconsole clears it, as `cfmakeraw` does.
    public static func makeRaw(fd: Int32, outputProcessing: Bool = false) -> Raw? {
        guard isForeground(fd) else { return nil }
        return try? Raw(fd: fd, outputProcessing: outputProcessing)
    }

    /// A terminal in raw mode (`cfmakeraw`: no echo, no line editing, no signals from keys,
    /// 8-bit bytes, one byte at a time) until `restore()`.
    ///
    /// Signals: while a `Raw` is active, SIGINT/SIGTERM/SIGHUP/SIGQUIT that would kill the
    /// process (default action) first put the terminal back (tcsetattr is async-signal-safe),
    /// then kill it as before. The previous actions come back on `restore()`. Only one `Raw` at a time owns that handler
    /// (the latest); restoring an older one leaves the newer one's in place.
    ///
    /// Locking: `restore()` may be called from any thread, any number of times; the first call
    /// restores, the rest do nothing.
    public final class Raw: Sendable {
        public let fd: Int32
        private let saved: termios
        private let state = Mutex<SavedActions?>(nil)
        private let active = Atomic<Bool>(true)

        /// The handlers replaced while raw mode is on.
        struct SavedActions: @unchecked Sendable {
            var actions: [(Int32, sigaction)]
        }

        /// Raw mode on `fd` (TCSANOW, as xenconsole). Throws ENOTTY for a non-terminal.
        public init(fd: Int32, outputProcessing: Bool = false) throws(HostError) {
            var old = termios()
            try Host.check("tcgetattr") { tcgetattr(fd, &old) }
            var raw = old
            cfmakeraw(&raw)
            if outputProcessing { raw.c_oflag = old.c_oflag }
            self.fd = fd
            saved = old
            // The signal handler restores from a copy taken before raw mode is set, so there is
            // no moment when the terminal is raw and a fatal signal would leave it so.
            let actions = TerminalSignalSlot.shared.arm(fd: fd, saved: old)
            state.withLock { $0 = SavedActions(actions: actions) }
            do {
                try Host.check("tcsetattr") { tcsetattr(fd, TCSANOW, &raw) }
            } catch {
                restoreHandlers()
                throw error
            }
        }

        /// True until `restore()`.
        public var isActive: Bool { active.load(ordering: .acquiring) }

        /// Puts the terminal's modes back as they were, and the signal handlers.
        public func restore() {
            guard active.exchange(false, ordering: .acquiringAndReleasing) else { return }
            var t = saved
            _ = tcsetattr(fd, TCSANOW, &t)
            restoreHandlers()
        }

        private func restoreHandlers() {
            guard let saved = state.withLock({ s -> SavedActions? in defer { s = nil }; return s }) else { return }
            TerminalSignalSlot.shared.disarm(fd: fd, previous: saved.actions)
        }

        deinit { restore() }
    }
}

/// The one place a signal handler can find the terminal to restore: the saved modes in
/// memory that is never freed, and the fd in an atomic (-1: nothing to restore).
final class TerminalSignalSlot: @unchecked Sendable {
    static let shared = TerminalSignalSlot()
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// The saved modes: allocated once and never freed; written only while `fd` is -1 (under
    /// `lock`), read by the handler only after it took a valid `fd`.
    let saved = UnsafeMutablePointer<termios>.allocate(capacity: 1)
    let fd = Atomic<Int32>(-1)
    private let lock = Mutex<Void>(())

    private init() { saved.initialize(to: termios()) }

    /// Records `saved` for `fd` and installs the restoring handler for each signal whose
    /// action is the default one (which would kill us); returns the actions it replaced.
    /// Signals the process ignores or handles itself are left alone: its handler decides.
    func arm(fd newFD: Int32, saved modes: termios) -> [(Int32, sigaction)] {
        lock.withLock { _ in
            fd.store(-1, ordering: .releasing)
            // SAFETY: `saved` is allocated and initialised; the handler ignores it while fd is -1.
            saved.pointee = modes
            fd.store(newFD, ordering: .releasing)
            var replaced: [(Int32, sigaction)] = []
            for sig in Self.signals {
                var old = sigaction()
                sigaction(sig, nil, &old)
                let isDefault = old.__sigaction_handler.sa_handler == nil && old.sa_flags & Int32(SA_SIGINFO) == 0
                if !isDefault { continue }
                var sa = sigaction()
                sa.__sigaction_handler.sa_handler = terminalRestoreHandler
                sigemptyset(&sa.sa_mask)
                sa.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)
                sigaction(sig, &sa, nil)
                replaced.append((sig, old))
            }
            return replaced
        }
    }

    /// Puts `previous` handlers back and forgets the terminal, if `fd` still owns the slot.
    func disarm(fd oldFD: Int32, previous: [(Int32, sigaction)]) {
        lock.withLock { _ in
            guard fd.compareExchange(expected: oldFD, desired: -1, ordering: .acquiringAndReleasing).exchanged else { return }
            for (sig, action) in previous {
                var a = action
                sigaction(sig, &a, nil)
            }
        }
    }
}

/// Restores the terminal, then lets the signal do what it would have done (SA_RESETHAND put
/// the default action back; the signal is blocked while we run, so re-raising it delivers it
/// when we return).
private func terminalRestoreHandler(_ sig: Int32) {
    let slot = TerminalSignalSlot.shared
    let fd = slot.fd.exchange(-1, ordering: .acquiringAndReleasing)
    // SAFETY: `saved` is never freed, and was written before `fd` was published.
    if fd >= 0 { tcsetattr(fd, TCSANOW, slot.saved) }
    raise(sig)
}
