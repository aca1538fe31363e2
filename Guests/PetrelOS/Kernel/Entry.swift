// kmain: called by Boot/entry.S in 64-bit mode with the hvm_start_info GPA.
//
// Order: parse start info (no output yet), discover Xen and install the hypercall
// page, pick the console (debug port 0xe9 without Xen, console_io with Xen,
// the PV ring with `console=ring`), then run `test=NAME` or the demo and power off.

enum Boot {
    nonisolated(unsafe) private(set) static var startInfo: StartInfo? = nil
    nonisolated(unsafe) private(set) static var cmdline = Cmdline.empty
}

extension Boot {
    fileprivate static func start(_ startInfoAddress: UInt64) -> Never {
        startInfo = StartInfo(address: startInfoAddress)
        if let info = startInfo { cmdline = Cmdline(address: info.cmdlineAddress) }

        if Xen.discover() { Console.sink = .consoleIO }
        if let console = cmdline.value("console"), console.equals("ring") { selectRingConsole() }

        if startInfo == nil {
            out.s("PetrelOS: warning: no valid hvm_start_info at ").hex(startInfoAddress).end()
        }

        if let test = cmdline.value("test") {
            TestRunner.run(test)
        } else {
            Demo.run()
        }
        Shutdown.shutdown(.poweroff)
    }

    private static func selectRingConsole() {
        switch ConsoleRing.setup() {
        case nil:
            Console.sink = .ring
        case .noXen?:
            out.s("PetrelOS: console=ring needs Xen; staying on the debug port").end()
        case .param(let index, let rc)?:
            out.s("PetrelOS: console=ring: HVMOP_get_param(").dec(Int(index)).s(") = ").rc(rc).end()
        case .zeroPfn?:
            out.s("PetrelOS: console=ring: HVM_PARAM_CONSOLE_PFN is 0").end()
        case .pfnNotMapped(let pfn)?:
            out.s("PetrelOS: console=ring: ring pfn ").hex(pfn).s(" is above 4 GiB").end()
        }
    }
}

@_cdecl("kmain")
public func kmain(_ startInfoAddress: UInt64) {
    Boot.start(startInfoAddress)
}
