// PV console ring driver (xen/io/console.h: struct xencons_interface).
//
// The ring page is at HVM_PARAM_CONSOLE_PFN << 12, its event channel is
// HVM_PARAM_CONSOLE_EVTCHN. We are the producer of out[]: read out_cons, copy bytes
// into out[prod & (size-1)], barrier, publish out_prod, notify with EVTCHNOP_send.
// When the ring is full we yield (SCHEDOP_yield) until the backend advances out_cons.
//
// We are the consumer of in[] (as Linux's hvc_xen and mini-os): read in_prod, barrier,
// copy in[cons & (size-1)] up to prod, barrier, publish in_cons, notify the backend so it
// refills. The backend notifies the port when it produced input; readers wait for that
// with SCHEDOP_poll on the port (see TestEcho).

enum ConsoleRing {
    nonisolated(unsafe) private(set) static var page: PhysRegion? = nil
    nonisolated(unsafe) private(set) static var port: UInt32 = 0

    private static let outOffset = Int(PETREL_CONS_OUT_OFFSET)
    private static let outSize = UInt32(PETREL_CONS_OUT_SIZE)
    private static let consOffset = Int(PETREL_CONS_OUT_CONS_OFFSET)
    private static let prodOffset = Int(PETREL_CONS_OUT_PROD_OFFSET)
    private static let inOffset = Int(PETREL_CONS_IN_OFFSET)
    private static let inSize = UInt32(PETREL_CONS_IN_SIZE)
    private static let inConsOffset = Int(PETREL_CONS_IN_CONS_OFFSET)
    private static let inProdOffset = Int(PETREL_CONS_IN_PROD_OFFSET)

    enum SetupError {
        case noXen
        case param(index: Int32, rc: Int64)
        case zeroPfn
        case pfnNotMapped(UInt64)
    }

    /// Reads the ring's pfn and port from the HVM params. Returns nil on success.
    static func setup() -> SetupError? {
        guard Xen.present else { return .noXen }
        let (rcPfn, pfn) = Xen.hvmGetParam(HVM_PARAM_CONSOLE_PFN)
        if rcPfn != 0 { return .param(index: HVM_PARAM_CONSOLE_PFN, rc: rcPfn) }
        let (rcPort, evtchn) = Xen.hvmGetParam(HVM_PARAM_CONSOLE_EVTCHN)
        if rcPort != 0 { return .param(index: HVM_PARAM_CONSOLE_EVTCHN, rc: rcPort) }
        if pfn == 0 { return .zeroPfn }
        let address = pfn << 12
        if address >= identityMappedLimit - 4096 { return .pfnNotMapped(pfn) }
        page = PhysRegion(base: address, size: 4096)
        port = UInt32(truncatingIfNeeded: evtchn)
        return nil
    }

    static var ready: Bool { page != nil }

    static var outCons: UInt32 {
        petrel_barrier()
        return page!.u32(consOffset)
    }

    static var outProd: UInt32 {
        petrel_barrier()
        return page!.u32(prodOffset)
    }

    /// Copies `count` bytes at `address` into the ring, waiting for space as needed.
    static func write(address: UInt64, count: Int) {
        guard let ring = page else { return }
        let source = PhysRegion(base: address, size: count)
        var sent = 0
        while sent < count {
            let cons = outCons                 // petrel_barrier(): mb() before reading data space
            var prod = ring.u32(prodOffset)    // we are the only producer
            let free = outSize &- (prod &- cons)
            if free == 0 {
                notify()                       // make sure the backend knows there is data
                _ = Xen.yield()
                continue
            }
            var n = Int(free)
            if n > count - sent { n = count - sent }
            for i in 0..<n {
                ring.store(source.u8(sent + i), at: outOffset + Int(prod & (outSize - 1)))
                prod &+= 1
            }
            petrel_barrier()                   // wmb(): data before the index
            ring.store(prod, at: prodOffset)
            sent += n
            notify()
        }
    }

    static func notify() {
        _ = Xen.eventChannelSend(port: port)
    }

    // MARK: input

    /// True if in[] holds bytes we have not read.
    static var inputAvailable: Bool {
        guard let ring = page else { return false }
        petrel_barrier()
        return ring.u32(inProdOffset) != ring.u32(inConsOffset)
    }

    /// Tells the backend we read in[]. Xen's xenconsoled fills in[] regardless; Petrel waits
    /// for the guest's first notification of the port (so a guest that reads its input with
    /// CONSOLEIO_read instead gets all of it), and output on the ring notifies anyway.
    static func connectInput() { if page != nil { notify() } }

    /// Copies up to `max` bytes of input into `buffer` (from offset 0), publishes in_cons and,
    /// if anything was read, notifies the backend so it can refill in[]. Returns the count.
    static func read(into buffer: PhysRegion, max: Int) -> Int {
        guard let ring = page else { return 0 }
        var cons = ring.u32(inConsOffset)
        let prod = ring.u32(inProdOffset)
        petrel_barrier()                       // rmb(): the index before the data it covers
        // The backend owns in_prod; more than a ring's worth outstanding is not trusted.
        if prod &- cons > inSize { cons = prod }
        var n = 0
        let limit = max < buffer.size ? max : buffer.size
        while cons != prod && n < limit {
            buffer.store(ring.u8(inOffset + Int(cons & (inSize - 1))), at: n)
            cons &+= 1
            n += 1
        }
        petrel_barrier()                       // mb(): done with the bytes before giving them back
        ring.store(cons, at: inConsOffset)
        if n > 0 { notify() }
        return n
    }

    /// Yields until the backend has consumed everything (out_cons == out_prod), at most
    /// `maxYields` times. Returns false on timeout.
    static func drain(maxYields: Int = 500_000) -> Bool {
        guard page != nil else { return true }
        var tries = 0
        while outCons != outProd {
            if tries == maxYields { return false }
            _ = Xen.yield()
            tries += 1
        }
        return true
    }
}
