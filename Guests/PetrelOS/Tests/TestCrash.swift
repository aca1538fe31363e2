// test=crash: prints a line and shuts down with SHUTDOWN_crash.

enum TestCrash {
    static func run() {
        out.s("crash: calling SCHEDOP_shutdown(SHUTDOWN_crash)").end()
        Shutdown.shutdown(.crash)
    }
}
