// test=echo: console input through the PV console ring (xen/io/console.h in[]).
//   Prints `echo ready`, then reads lines from in[] and prints each as `echo: <line>`
//   (output stays on console_io). Between reads it sleeps in SCHEDOP_poll on the ring's
//   port until the backend notifies it. The line `quit` ends the test: PASS echo.
//   Lines end with \n or \r (Enter on a raw terminal); \r\n counts once. Lines longer than
//   EchoLines.maxLine are echoed in pieces; other bytes after `quit` are ignored.
//   `idle=N`: fail after N seconds without input (default 120).

enum TestEcho {
    static func run(_ t: inout TestContext) {
        guard let idle = TestRunner.parameter(&t, "idle", default: 120, range: 1...86_400) else { return }
        guard t.startRuntime(), setupRing(&t) else { return }
        let port = ConsoleRing.port
        let chunk = WorkArea.buffer(0)
        var lines = EchoLines()
        out.s("echo ready").end()
        ConsoleRing.connectInput()
        var lastInput = Clock.now()
        while !lines.quit {
            let n = ConsoleRing.read(into: chunk, max: chunk.size)
            if n > 0 {
                lines.feed(chunk, count: n)
                lastInput = Clock.now()
                continue
            }
            // Nothing to read: clear the port's event, look once more (input may have come
            // in between), then sleep until the backend notifies (or a second passes).
            Events.clearPending(port)
            if ConsoleRing.inputAvailable { continue }
            if Clock.now() - lastInput > idle * nsPerSec { return t.fail("no console input", "for idle= seconds") }
            let rc = Sched.poll(port: port, timeout: Clock.now() + nsPerSec, window: false)
            guard rc == 0 else { return t.expectRC("SCHEDOP_poll on the console port", rc, 0) }
        }
    }

    /// The PV console ring from the HVM params, or a FAIL line.
    static func setupRing(_ t: inout TestContext) -> Bool {
        switch ConsoleRing.setup() {
        case nil: return true
        case .param(let index, let rc)?:
            t.expectRC(index == HVM_PARAM_CONSOLE_PFN ? "get HVM_PARAM_CONSOLE_PFN" : "get HVM_PARAM_CONSOLE_EVTCHN", rc, 0)
        case .zeroPfn?: t.fail("HVM_PARAM_CONSOLE_PFN", "is 0")
        case .pfnNotMapped?: t.fail("HVM_PARAM_CONSOLE_PFN", "ring is above 4 GiB")
        case .noXen?: t.fail("Xen not found")
        }
        return false
    }
}

/// Splits console input into lines and echoes them (test=echo, test=consoleread).
struct EchoLines {
    static let maxLine = 1024
    private let line = WorkArea.buffer(1).sub(0, EchoLines.maxLine)
    private var used = 0
    private var lastWasCR = false
    private(set) var quit = false
    private(set) var echoed = 0

    /// Takes `count` bytes from the start of `chunk`.
    mutating func feed(_ chunk: PhysRegion, count: Int) {
        for i in 0..<count {
            if quit { return }
            let b = chunk.u8(i)
            let cr = b == UInt8(ascii: "\r"), lf = b == UInt8(ascii: "\n")
            defer { lastWasCR = cr }
            if lf && lastWasCR { continue }
            if cr || lf {
                endLine()
                continue
            }
            line.store(b, at: used)
            used += 1
            if used == Self.maxLine { endLine() }
        }
    }

    private mutating func endLine() {
        defer { used = 0 }
        if used == 4 && line.u8(0) == UInt8(ascii: "q") && line.u8(1) == UInt8(ascii: "u")
            && line.u8(2) == UInt8(ascii: "i") && line.u8(3) == UInt8(ascii: "t") {
            quit = true
            return
        }
        out.s("echo: ").bytes(line, count: used).end()
        echoed += 1
    }
}
