// test=ring: the PV console ring (HVM_PARAM_CONSOLE_PFN/EVTCHN, xencons_interface).
//   Prints `ring 1`, `io 2`, `ring 3`, ... `io 8`, alternating ring and console_io;
//   before each console_io line it waits until the backend consumed the ring
//   (out_cons == out_prod), so the host sees them in order. Then 40 `ring-wrap N ...`
//   lines (> 2 KiB, the out[] size) are written without waiting, which exercises
//   index wrap-around and the ring-full wait. Then PASS.

enum TestRing {
    static func run(_ t: inout TestContext) {
        switch ConsoleRing.setup() {
        case nil: break
        case .param(let index, let rc)?:
            return t.expectRC(index == HVM_PARAM_CONSOLE_PFN ? "get HVM_PARAM_CONSOLE_PFN" : "get HVM_PARAM_CONSOLE_EVTCHN", rc, 0)
        case .zeroPfn?: return t.fail("HVM_PARAM_CONSOLE_PFN", "is 0")
        case .pfnNotMapped?: return t.fail("HVM_PARAM_CONSOLE_PFN", "ring is above 4 GiB")
        case .noXen?: return t.fail("Xen not found")
        }
        let previous = Console.sink
        defer { Console.sink = previous }

        for n in 1...8 {
            Console.flush()
            if n % 2 == 1 {
                Console.sink = .ring
                out.s("ring ").dec(n).end()
                guard drained(&t) else { return }
            } else {
                Console.sink = .consoleIO
                out.s("io ").dec(n).end()
            }
        }

        Console.sink = .ring
        for n in 1...40 {
            out.s("ring-wrap ").dec(n).s(" abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP").end()
        }
        guard drained(&t) else { return }
        Console.sink = .consoleIO
    }

    private static func drained(_ t: inout TestContext) -> Bool {
        if ConsoleRing.drain() { return true }
        Console.sink = .consoleIO
        t.expectEqual("ring not consumed: out_cons", UInt64(ConsoleRing.outCons), UInt64(ConsoleRing.outProd))
        return false
    }
}
