// test=bench-hypercall n=N (default 100000): total TSC cycles for N
// xen_version(XENVER_version) hypercalls, then for N bare port-I/O exits
// (`out` of a byte to port 0x80, which Petrel ignores), in the same run:
//   bench hypercall n=N cycles=C
//   bench bare n=N cycles=C
// Without Xen only the bare line is printed (plus a note).
// Both timed loops are assembly (Boot/benchloops.S) with the same loop around their one
// hypercall / one `out`: on a host that emulates guest code, compiled Swift around the
// hypercall would be timed along with it.

enum TestBenchHypercall {
    static let barePort: UInt16 = 0x80

    static func run() {
        var n: UInt64 = 100_000
        if let word = Boot.cmdline.value("n") {
            guard let v = word.integer, v > 0 else {
                out.s("FAIL bench-hypercall: bad n=").bytes(word.region, count: word.count).end()
                return
            }
            n = v
        }
        Console.flush()

        if Xen.present {
            let first = Xen.version(XENVER_version)
            if first < 0 {
                out.s("FAIL bench-hypercall: XENVER_version returned ").rc(first).end()
                return
            }
            let cycles = petrel_bench_hypercall_loop(n)
            out.s("bench hypercall n=").dec(n).s(" cycles=").dec(cycles).end()
        } else {
            out.s("bench hypercall skipped: Xen not found").end()
        }
        Console.flush()

        let cycles = petrel_bench_out_loop(barePort, n)
        out.s("bench bare n=").dec(n).s(" cycles=").dec(cycles).end()
    }
}
