// test=shutdown reason=poweroff|reboot|suspend|crash|watchdog (default poweroff):
// prints `shutdown REASON` and calls SCHEDOP_shutdown with that reason. No PASS line.

enum TestShutdown {
    static func run() {
        var reason = ShutdownReason.poweroff
        if let word = Boot.cmdline.value("reason") {
            guard let r = ShutdownReason.named(word) else {
                out.s("FAIL shutdown: unknown reason=").bytes(word.region, count: word.count).end()
                return
            }
            reason = r
        }
        out.s("shutdown ").s(reason.name).end()
        Shutdown.shutdown(reason)
    }
}
