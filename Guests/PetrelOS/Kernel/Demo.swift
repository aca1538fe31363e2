// The demo (no `test=` on the command line): greet with Xen's version, print the
// memory map and command line we were given, power off.

enum Demo {
    static func run() {
        if Xen.present {
            let v = Xen.version(XENVER_version)
            let line = out.s("PetrelOS: hello from Xen ").dec(UInt64(v >> 16)).s(".").dec(UInt64(v & 0xffff))
            appendExtraversion(line)
            line.end()
        } else {
            out.s("PetrelOS: Xen not found (no \"XenVMMXenVMM\" CPUID leaves); console on port 0xe9").end()
        }

        if let info = Boot.startInfo {
            out.s("PetrelOS: start info v").dec(UInt64(info.version)).s(" at ").hex(info.address)
                .s(", ").dec(info.memmapCount).s(" memmap entries, ").dec(info.moduleCount).s(" modules").end()
            for i in 0..<info.memmapCount {
                let e = info.memmap(i)
                // end is inclusive, as in E820 dumps; an empty entry shows end == start.
                out.s("memmap ").dec(i).s(": start ").hex(e.address, digits: 9)
                    .s(" end ").hex(e.size == 0 ? e.address : e.end &- 1, digits: 9)
                    .s(" size ").hex(e.size).s(" type ").hex(UInt64(e.type)).s(" (").s(e.typeName).s(")").end()
            }
            for i in 0..<info.moduleCount {
                let m = info.module(i)
                out.s("module ").dec(i).s(": start ").hex(m.address).s(" size ").hex(m.size).end()
            }
        }
        let cmdline = Boot.cmdline.text
        out.s("cmdline: ").bytes(cmdline, count: cmdline.size).end()
    }

    /// XENVER_extraversion is char[16], NUL-terminated (e.g. ".0" or "-petrel").
    private static func appendExtraversion(_ line: Out) {
        let buffer = StaticPages.data.sub(0, 16)
        buffer.fill(0)
        guard Xen.version(XENVER_extraversion, buffer.base) == 0,
              let n = buffer.cStringLength(), n > 0 else { return }
        line.bytes(buffer, count: n)
    }
}
