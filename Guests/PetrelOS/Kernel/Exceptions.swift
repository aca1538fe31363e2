// CPU exception reporting. Boot/idt.S routes vectors 0-31 here; we print the
// vector, error code, RIP (and CR2 for page faults) and crash the domain.

enum Exceptions {
    /// Set while reporting, so a fault inside the reporter does not recurse.
    nonisolated(unsafe) static var handling = false
}

@_cdecl("petrel_exception")
func petrel_exception(_ vector: UInt64, _ error: UInt64, _ rip: UInt64, _ cr2: UInt64, _ rsp: UInt64) {
    if Exceptions.handling {
        // A fault while reporting a fault: don't recurse, just stop.
        if Xen.present { _ = Xen.shutdown(reason: ShutdownReason.crash.rawValue) }
        else { petrel_outl(Shutdown.debugExitPort, ShutdownReason.crash.rawValue) }
        petrel_halt_forever()
    }
    Exceptions.handling = true
    // console_io is the most robust sink; the ring may be what broke.
    if Console.sink == .ring { Console.sink = .consoleIO }
    Console.flush()
    let o = out.s("PetrelOS: exception ").dec(vector).s(" ")
    switch vector {
    case 0: o.s("#DE")
    case 1: o.s("#DB")
    case 2: o.s("NMI")
    case 3: o.s("#BP")
    case 4: o.s("#OF")
    case 5: o.s("#BR")
    case 6: o.s("#UD")
    case 7: o.s("#NM")
    case 8: o.s("#DF")
    case 10: o.s("#TS")
    case 11: o.s("#NP")
    case 12: o.s("#SS")
    case 13: o.s("#GP")
    case 14: o.s("#PF")
    case 16: o.s("#MF")
    case 17: o.s("#AC")
    case 18: o.s("#MC")
    case 19: o.s("#XM")
    case 20: o.s("#VE")
    case 21: o.s("#CP")
    default: o.s("#??")
    }
    o.s(" error=").hex(error).s(" rip=").hex(rip).s(" rsp=").hex(rsp)
    if vector == 14 { o.s(" cr2=").hex(cr2) }
    o.end()
    Shutdown.shutdown(.crash)
}
