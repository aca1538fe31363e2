// test=consoleread: console input through HYPERVISOR_console_io(CONSOLEIO_read).
//   Prints `echo ready`, then reads with CONSOLEIO_read (sleeping 2 ms in SCHEDOP_poll
//   between empty reads) and echoes lines as test=echo does; `quit` ends it: PASS
//   consoleread. It never notifies the PV ring's port (output stays on console_io), so
//   Petrel leaves all input to CONSOLEIO_read. A negative result fails the test.
//   `idle=N`: fail after N seconds without input (default 120).

enum TestConsoleRead {
    static func run(_ t: inout TestContext) {
        guard let idle = TestRunner.parameter(&t, "idle", default: 120, range: 1...86_400) else { return }
        guard t.startRuntime() else { return }
        let chunk = WorkArea.buffer(0)
        var lines = EchoLines()
        out.s("echo ready").end()
        var lastInput = Clock.now()
        while !lines.quit {
            let rc = Xen.call(__HYPERVISOR_console_io, UInt64(CONSOLEIO_read), UInt64(chunk.size), chunk.base)
            if rc < 0 { return t.expectRC("CONSOLEIO_read", rc, 0) }
            if rc > Int64(chunk.size) { return t.expectRange("CONSOLEIO_read count", UInt64(rc), 0, UInt64(chunk.size)) }
            if rc > 0 {
                lines.feed(chunk, count: Int(rc))
                lastInput = Clock.now()
                continue
            }
            if Clock.now() - lastInput > idle * nsPerSec { return t.fail("no console input", "for idle= seconds") }
            // A poll of no ports is a sleep until the timeout (or any event).
            let prc = Sched.poll(ports: 0, count: 0, timeout: Clock.now() + 2 * nsPerMs, window: false)
            guard prc == 0 else { return t.expectRC("SCHEDOP_poll (sleep)", prc, 0) }
        }
    }
}
