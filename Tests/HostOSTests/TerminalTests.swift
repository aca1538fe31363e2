import Glibc
import HostOS
import Testing

/// A pseudo-terminal pair, so raw mode can be tested without a real terminal: what
/// posix_openpt + unlockpt + ptsname do (Swift's Glibc module hides those behind
/// _XOPEN_SOURCE), by hand. The slave is not our controlling terminal (O_NOCTTY).
final class PTY {
    let master: Int32
    let slave: Int32
    /// asm-generic/ioctls.h: _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int), which
    /// the importer cannot evaluate.
    static let TIOCSPTLCK: UInt = 0x4004_5431
    static let TIOCGPTN: UInt = 0x8004_5430

    init() throws {
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(master >= 0, "open /dev/ptmx: errno \(errno)")
        var unlock: Int32 = 0
        var number: UInt32 = 0
        try #require(ioctl(master, Self.TIOCSPTLCK, &unlock) == 0 && ioctl(master, Self.TIOCGPTN, &number) == 0)
        slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(slave >= 0, "open /dev/pts/\(number): errno \(errno)")
    }

    deinit {
        close(slave)
        close(master)
    }

    var modes: termios {
        var t = termios()
        tcgetattr(slave, &t)
        return t
    }

    /// What arrives on `fd` within `ms` milliseconds (one read), or nil.
    static func readSoon(_ fd: Int32, ms: Int32 = 200) -> [UInt8]? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, ms) > 0 else { return nil }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buf[0..<n]) : nil
    }

    static func write(_ fd: Int32, _ s: String) {
        let bytes = Array(s.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

private func has(_ flags: tcflag_t, _ bit: Int32) -> Bool { flags & tcflag_t(bit) != 0 }

/// Serialized: raw mode's signal handlers are process-wide.
@Suite(.serialized) struct TerminalTests {
    @Test func isTerminalTellsTerminalsFromPipesAndFiles() throws {
        let pty = try PTY()
        #expect(Terminal.isTerminal(pty.slave))
        #expect(Terminal.isTerminal(pty.master))
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(!Terminal.isTerminal(fds[0]))
        let null = open("/dev/null", O_RDONLY)
        defer { close(null) }
        #expect(!Terminal.isTerminal(null))
        #expect(!Terminal.isTerminal(-1))
    }

    @Test func rawModeIsCfmakerawAndRestoreBringsTheModesBack() throws {
        let pty = try PTY()
        let before = pty.modes
        // A fresh pty is cooked: line editing, echo, signals from keys, output processing.
        #expect(has(before.c_lflag, ICANON) && has(before.c_lflag, ECHO) && has(before.c_lflag, ISIG))
        #expect(has(before.c_oflag, OPOST))

        let raw = try Terminal.Raw(fd: pty.slave)
        let during = pty.modes
        #expect(!has(during.c_lflag, ICANON))
        #expect(!has(during.c_lflag, ECHO))
        #expect(!has(during.c_lflag, ISIG))
        #expect(!has(during.c_lflag, IEXTEN))
        #expect(!has(during.c_iflag, ICRNL))
        #expect(!has(during.c_iflag, IXON))
        #expect(!has(during.c_oflag, OPOST))
        #expect(during.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS8))
        #expect(raw.isActive)

        raw.restore()
        let after = pty.modes
        #expect(!raw.isActive)
        #expect(after.c_lflag == before.c_lflag)
        #expect(after.c_iflag == before.c_iflag)
        #expect(after.c_oflag == before.c_oflag)
        #expect(after.c_cflag == before.c_cflag)
        raw.restore()  // twice is harmless
        #expect(pty.modes.c_lflag == before.c_lflag)
    }

    @Test func outputProcessingCanStayOn() throws {
        let pty = try PTY()
        let before = pty.modes
        let raw = try Terminal.Raw(fd: pty.slave, outputProcessing: true)
        defer { raw.restore() }
        #expect(pty.modes.c_oflag == before.c_oflag)
        #expect(!has(pty.modes.c_lflag, ICANON))
    }

    @Test func inRawModeBytesArriveAtOnceWithoutEcho() throws {
        let pty = try PTY()
        // Cooked: a byte without a newline is held back, and echoed.
        PTY.write(pty.master, "a")
        #expect(PTY.readSoon(pty.slave, ms: 100) == nil)
        #expect(PTY.readSoon(pty.master) == Array("a".utf8))
        PTY.write(pty.master, "\n")
        #expect(PTY.readSoon(pty.slave) == Array("a\n".utf8))
        _ = PTY.readSoon(pty.master, ms: 50)  // the echoed newline

        let raw = try Terminal.Raw(fd: pty.slave)
        defer { raw.restore() }
        // Raw: each byte at once, Ctrl-C (0x03) and Ctrl-] (0x1d) as data, nothing echoed.
        PTY.write(pty.master, "x\u{03}\u{1d}")
        var got: [UInt8] = []
        while got.count < 3, let more = PTY.readSoon(pty.slave) { got += more }
        #expect(got == [UInt8(ascii: "x"), 0x03, 0x1D])
        #expect(PTY.readSoon(pty.master, ms: 100) == nil)
    }

    @Test func rawModeOnANonTerminalIsENOTTY() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(throws: HostError.self) { try Terminal.Raw(fd: fds[0]) }
        do {
            _ = try Terminal.Raw(fd: fds[0])
        } catch {
            #expect(error.errno.rawValue == ENOTTY)
        }
    }

    @Test func makeRawDoesNothingUnlessTheTerminalIsOursInTheForeground() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(Terminal.makeRaw(fd: fds[0]) == nil)
        // A pty that is not our controlling terminal has no foreground group of ours.
        let pty = try PTY()
        let before = pty.modes
        #expect(!Terminal.isForeground(pty.slave))
        #expect(Terminal.makeRaw(fd: pty.slave) == nil)
        #expect(pty.modes.c_lflag == before.c_lflag)
    }

    @Test func fatalSignalsGetARestoringHandlerWhileRawAndTheOldActionsComeBack() throws {
        func action(_ sig: Int32) -> sigaction {
            var a = sigaction()
            sigaction(sig, nil, &a)
            return a
        }
        func isDefault(_ a: sigaction) -> Bool {
            a.__sigaction_handler.sa_handler == nil && a.sa_flags & Int32(SA_SIGINFO) == 0
        }
        func bits(_ a: sigaction) -> Int { unsafeBitCast(a.__sigaction_handler.sa_handler, to: Int.self) }
        let pty = try PTY()
        let signals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
        let before = signals.map(action)
        let raw = try Terminal.Raw(fd: pty.slave)
        for (sig, old) in zip(signals, before) {
            // A default (fatal) action gets the restoring handler; anything else is left alone.
            if isDefault(old) {
                #expect(!isDefault(action(sig)), "signal \(sig)")
            } else {
                #expect(bits(action(sig)) == bits(old), "signal \(sig)")
            }
        }
        raw.restore()
        for (sig, old) in zip(signals, before) {
            #expect(bits(action(sig)) == bits(old) && isDefault(action(sig)) == isDefault(old), "signal \(sig)")
        }
    }
}
