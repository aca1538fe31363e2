// test=fault: reads an unmapped address; the #PF handler prints
// `PetrelOS: exception 14 #PF error=... rip=... rsp=... cr2=0x7ffffffff000`
// and shuts down with SHUTDOWN_crash.

enum TestFault {
    static func run() {
        out.s("fault: reading unmapped address ").hex(unmappedAddress).end()
        Console.flush()
        // SAFETY: deliberately invalid; the point of this test is the page fault.
        let p = UnsafePointer<UInt64>(bitPattern: UInt(unmappedAddress))!
        let value = p.pointee
        out.s("FAIL fault: read of unmapped address returned ").hex(value).end()
    }
}
