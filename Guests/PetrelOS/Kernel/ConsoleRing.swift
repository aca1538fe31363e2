// PV console ring driver (xen/io/console.h: struct xencons_interface).
//
// The ring page is at HVM_PARAM_CONSOLE_PFN << 12, its event channel is
// HVM_PARAM_CONSOLE_EVTCHN. We are the producer of out[]: read out_cons, copy bytes
// into out[prod & (size-1)], barrier, publish out_prod, notify with EVTCHNOP_send.
// When the ring is full we yield (SCHEDOP_yield) until the backend advances out_cons.

enum ConsoleRing {
    nonisolated(unsafe) private(set) static var page: PhysRegion? = nil
    nonisolated(unsafe) private(set) static var port: UInt32 = 0

    private static let outOffset = Int(PETREL_CONS_OUT_OFFSET)
    private static let outSize = UInt32(PETREL_CONS_OUT_SIZE)
    private static let consOffset = Int(PETREL_CONS_OUT_CONS_OFFSET)
    private static let prodOffset = Int(PETREL_CONS_OUT_PROD_OFFSET)

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
