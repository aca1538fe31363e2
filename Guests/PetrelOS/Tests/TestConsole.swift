// test=console: HYPERVISOR_console_io (xen.h CONSOLEIO_*).
//   write returns 0 (Xen's guest_console_write); read with no input returns 0 bytes;
//   a write from an unmapped buffer is -EFAULT; an unknown subop is -ENOSYS.

enum TestConsole {
    static func run(_ t: inout TestContext) {
        Console.flush()
        let line = StaticPages.data.sub(0, 64)
        let text: StaticString = "console: written with CONSOLEIO_write\n"
        for j in 0..<text.utf8CodeUnitCount { line.store(text.byte(j), at: j) }
        t.expectRC("CONSOLEIO_write", Xen.call(__HYPERVISOR_console_io, UInt64(CONSOLEIO_write),
                                                UInt64(text.utf8CodeUnitCount), line.base), 0)

        let input = StaticPages.data.sub(64, 64)
        t.expectRC("CONSOLEIO_read with no input", Xen.call(__HYPERVISOR_console_io, UInt64(CONSOLEIO_read),
                                                            UInt64(input.size), input.base), 0)

        t.expectRC("CONSOLEIO_write from unmapped buffer",
                   Xen.call(__HYPERVISOR_console_io, UInt64(CONSOLEIO_write), 16, unmappedAddress), -XenErrno.EFAULT)

        t.expectRC("console_io unknown subop 99",
                   Xen.call(__HYPERVISOR_console_io, 99, UInt64(line.size), line.base), -XenErrno.ENOSYS)
    }
}
