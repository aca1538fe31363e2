// test=pcpu mode=…: the pCPU driver (Kernel/PCPU*.swift) in a guest the toolstack runs, for
// the daemon tests and `petrel bench pcpu`. Lists print as
//   pcpu list 0:apic=0:acpi=0:online 1:apic=2:acpi=1:offline
// (`-` for an id Xen reports as unknown), changes a subscriber heard as
//   pcpu change cpu=1 offline
// and each resync ends with
//   pcpu resync done n=GEN changes=C event_ns=E
// (E: from the VIRQ_PCPU_STATE upcall to the end of the resync, by the guest's pvclock; 0
// for a resync no event asked for). With quiet=1 a short marker `R<GEN>` comes first: each
// console byte costs the guest about 0.1 ms on a slow host, and `petrel bench pcpu` times the
// marker.
//
// Modes (privileged guest unless said):
//   list                 enumerate, check the list and the lookups, PASS.
//   watch [events=N]     enumerate, print the list and `pcpu watching`; then on every
//        [quiet=1]       VIRQ_PCPU_STATE resync, print the changes and the list (or with
//                        quiet=1 the marker) and the done line; PASS after N resyncs (0: never).
//   self-offline cpu=N   checks Xen's errnos (CPU 0 EOPNOTSUPP, past max_present EINVAL,
//        [events=N]      an INVALID entry keeps the caller's ids), offlines pCPU N itself
//                        (`pcpu self-offline cpu=N rc=R`), waits for its own VIRQ, checks
//                        its list shows N offline and that a second offline is 0, prints
//                        the list and `pcpu self-offline done`, then watches as above.
//   unpriv               an unprivileged guest: every XENPF command -EPERM, a wrong
//                        interface version -EACCES, the driver's start EPERM, PASS.
//   load [tick=MS]       any guest, any vCPUs: every vCPU up, each sleeping in MS-ms steps
//                        (default 5); prints `pcpu load up vcpus=N` and never ends.
//   bench [n=N]          N full enumerations timed by the guest, N xen_version calls and N
//                        bare XENPF_get_cpuinfo calls: `bench pcpu-enum n=N cpus=C
//                        ns_per_cpu=X hypercall_ns=H getcpuinfo_ns=G`, then watches with
//                        quiet=1.

enum TestPCPU {
    static func run(_ t: inout TestContext) {
        guard t.startRuntime() else { return }
        PCPU.reset()
        let mode = Boot.cmdline.value("mode")
        if mode == nil || mode!.equals("list") { return list(&t) }
        if mode!.equals("watch") { return startAndWatch(&t, quiet: quietParameter) }
        if mode!.equals("self-offline") { return TestPCPUChecks.selfOffline(&t) }
        if mode!.equals("unpriv") { return TestPCPUChecks.unprivileged(&t) }
        if mode!.equals("load") { return TestPCPULoad.load(&t) }
        if mode!.equals("bench") { return TestPCPULoad.bench(&t) }
        t.fail("mode", "unknown mode= (list, watch, self-offline, unpriv, load, bench)")
    }

    static var quietParameter: Bool {
        Boot.cmdline.value("quiet").map { $0.equals("1") } ?? false
    }

    private static func list(_ t: inout TestContext) {
        do { try PCPU.start() } catch { return t.expectRC("pcpu start (bind VIRQ_PCPU_STATE, enumerate)", -error.errno, 0) }
        printList()
        checkList(&t)
    }

    private static func startAndWatch(_ t: inout TestContext, quiet: Bool) {
        do { try PCPU.start() } catch { return t.expectRC("pcpu start (bind VIRQ_PCPU_STATE, enumerate)", -error.errno, 0) }
        printList()
        checkList(&t)
        guard t.ok else { return }
        watch(&t, quiet: quiet)
    }

    /// Resyncs on every VIRQ_PCPU_STATE until `events=N` resyncs happened (0: forever).
    static func watch(_ t: inout TestContext, quiet: Bool) {
        guard let events = TestRunner.parameter(&t, "events", default: 0, range: 0...1_000_000) else { return }
        if !quiet {
            do { try PCPU.subscribe(printChange) } catch { return t.expectRC("subscribe", -error.errno, 0) }
        }
        out.s("pcpu watching").end()
        var seen: UInt64 = 0
        while events == 0 || seen < events {
            _ = PCPU.waitForChange(until: 0)
            let changes: Int
            do { changes = try PCPU.sync() } catch { return t.expectRC("resync on VIRQ_PCPU_STATE", -error.errno, 0) }
            let done = Clock.now()
            seen += 1
            let at = PCPU.lastEventAt
            if quiet { out.s("R").dec(PCPU.generation).end() } else { printList() }
            out.s("pcpu resync done n=").dec(PCPU.generation).s(" changes=").dec(changes)
                .s(" event_ns=").dec(at != 0 && done > at ? done - at : 0).end()
            if !quiet { checkList(&t) }
            guard t.ok else { return }
        }
    }

    /// The test's own subscriber: one line per change.
    static let printChange: PCPUSubscriber = { change, cpu in
        let name: StaticString = PCPUChange(rawValue: change)?.name ?? "?"
        out.s("pcpu change cpu=").dec(UInt64(cpu)).s(" ").s(name).end()
    }

    static func printList() {
        let o = out.s("pcpu list")
        PCPU.forEach { c in
            o.s(" ").dec(UInt64(c.index.raw)).s(":apic=")
            if let a = c.apic { o.dec(UInt64(a.raw)) } else { o.s("-") }
            o.s(":acpi=")
            if let a = c.acpi { o.dec(UInt64(a.raw)) } else { o.s("-") }
            o.s(c.online ? ":online" : ":offline")
        }
        o.end()
    }

    /// The list against itself: pCPU 0 present and online (Xen never offlines it), every
    /// known id leads back to its own index and only through its own kind of lookup, ~0 is
    /// EINVAL, an unused id ENOENT, an index past max_present ENOENT.
    static func checkList(_ t: inout TestContext) {
        let (present, online) = PCPU.counts
        t.expect("present pCPUs", present >= 1, expected: "at least 1", got: Int64(present))
        t.expect("online pCPUs", online >= 1, expected: "at least 1", got: Int64(online))
        do {
            let zero = try PCPU.info(PCPUIndex(0))
            t.expect("pCPU 0 online", zero.online, expected: "online", got: 0)
        } catch {
            t.expectRC("info(pCPU 0)", -error.errno, 0)
        }
        var highestAPIC: UInt32 = 0, highestACPI: UInt32 = 0
        var failures = 0
        PCPU.forEach { c in
            if let a = c.apic {
                highestAPIC = max(highestAPIC, a.raw)
                if (try? PCPU.index(apic: a)) != c.index { failures += 1 }
            }
            if let a = c.acpi {
                highestACPI = max(highestACPI, a.raw)
                if (try? PCPU.index(acpi: a)) != c.index { failures += 1 }
            }
        }
        t.expect("index(apic:)/index(acpi:) lead back to each pCPU", failures == 0, expected: "0 mismatches",
                 got: Int64(failures))
        t.expectRC("index(apic: ~0)", errnoOf { () throws(PCPUError) in _ = try PCPU.index(apic: APICID(PCPU.unknownID)) }, -XenErrno.EINVAL)
        t.expectRC("index(acpi: ~0)", errnoOf { () throws(PCPUError) in _ = try PCPU.index(acpi: ACPIID(PCPU.unknownID)) }, -XenErrno.EINVAL)
        t.expectRC("index(apic:) of an unused id", errnoOf { () throws(PCPUError) in _ = try PCPU.index(apic: APICID(highestAPIC + 1)) },
                   -XenErrno.ENOENT)
        t.expectRC("index(acpi:) of an unused id", errnoOf { () throws(PCPUError) in _ = try PCPU.index(acpi: ACPIID(highestACPI + 1)) },
                   -XenErrno.ENOENT)
        t.expectRC("info(past max_present)", errnoOf { () throws(PCPUError) in _ = try PCPU.info(PCPUIndex(PCPU.maxPresent + 1)) },
                   -XenErrno.ENOENT)
    }

    /// -errno of what `body` threw, 0 if it returned.
    static func errnoOf(_ body: () throws(PCPUError) -> Void) -> Int64 {
        do { try body() } catch { return -error.errno }
        return 0
    }
}
