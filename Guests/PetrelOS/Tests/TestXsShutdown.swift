// test=xsshutdown [timeout=60]: the PV shutdown protocol, guest side, as Linux's
// drivers/xen/manage.c does it:
//   advertise control/feature-poweroff and control/feature-reboot ("1"), watch
//   control/shutdown, print `xsshutdown: waiting for control/shutdown`;
//   on each event, in a transaction: read the node; nothing there (or empty) is no request;
//   "poweroff"/"halt" and "reboot" are acknowledged by writing "" (EAGAIN: start over),
//   anything else is ignored unacknowledged (`xsshutdown: ignoring …`);
//   once acknowledged: print `xsshutdown: <request> requested` and `PASS xsshutdown`, and
//   SCHEDOP_shutdown with that reason.
// With no request within `timeout` seconds: FAIL (and the usual poweroff).

enum TestXsShutdown {
    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        guard let seconds = TestRunner.parameter(&t, "timeout", default: 60, range: 1...3600) else { return }
        do {
            try XenBus.start()
            try XenBus.write("control/feature-poweroff", "1")
            try XenBus.write("control/feature-reboot", "1")
            try XenBus.watch("control/shutdown", token: "shutdown")
        } catch {
            t.expectRC("xenbus setup (start, feature-*, watch control/shutdown)", -error.errno, 0)
            return
        }
        out.s("xsshutdown: waiting for control/shutdown").end()

        let deadline = Clock.now() + seconds * nsPerSec
        while true {
            let now = Clock.now()
            let event: XsWatchEvent
            do {
                event = try XenBus.waitWatchEvent(timeout: deadline > now ? deadline - now : 0)
            } catch {
                if error == .ETIMEDOUT { t.fail("control/shutdown", "no shutdown request before the timeout") }
                else { t.expectRC("waiting for a watch event", -error.errno, 0) }
                return
            }
            guard event.token.equals("shutdown") else { continue }
            let reason: ShutdownReason?
            do {
                reason = try handleRequest()
            } catch {
                t.expectRC("handling control/shutdown", -error.errno, 0)
                return
            }
            guard let reason else { continue }
            out.s("xsshutdown: ").s(reason.name).s(" requested").end()
            t.finish()
            Shutdown.shutdown(reason)
        }
    }

    /// Linux's `shutdown_handler`: the request, acknowledged, or nil if there is none to act on.
    private static func handleRequest() throws(XenBusError) -> ShutdownReason? {
        while true {
            let tx = try XenBus.transactionStart()
            let value: XsBytes
            do {
                value = try XenBus.read("control/shutdown", tx: tx)
            } catch {
                try XenBus.transactionEnd(tx, commit: false)
                if error == .ENOENT { return nil }
                throw error
            }
            var reason: ShutdownReason? = nil
            if value.equals("poweroff") || value.equals("halt") { reason = .poweroff }
            else if value.equals("reboot") { reason = .reboot }
            if value.count > 0 && reason == nil {
                out.s("xsshutdown: ignoring shutdown request: ").xs(value).end()
            }
            // Only requests we act on are acknowledged.
            if reason != nil { try XenBus.write("control/shutdown", "", tx: tx) }
            do {
                try XenBus.transactionEnd(tx, commit: reason != nil)
            } catch {
                if error == .EAGAIN { continue }
                throw error
            }
            return reason
        }
    }
}
