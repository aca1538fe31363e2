import XenABI

extension Hypervisor {
    /// `memory_op(cmd, arg)` (xen/common/memory.c: `do_memory_op`, x86 `arch_memory_op`).
    func memoryOp(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        switch MemoryOpCmd(rawValue: call.a0 & memopCmdMask) {
        case .currentReservation, .maximumReservation:
            let domid = DomainID(try ctx.load(UInt16.self, at: arg))
            let d = try target(domid, from: ctx.domain)
            let bytes = call.a0 & memopCmdMask == MemoryOpCmd.currentReservation.rawValue
                ? d.memory.ramBytes : d.config.maxMemoryBytes
            return bytes / xenPageSize
        case .addToPhysmap:
            let x = try ctx.copyIn(XenAddToPhysmap.self, from: arg)
            let d = try target(x.domid, from: ctx.domain)
            try addToPhysmap(d, space: x.space, idx: x.idx, gfn: x.gpfn)
            return 0
        case .memoryMap:
            var map = try ctx.copyIn(XenMemoryMap.self, from: arg)
            let e820 = ctx.domain.memmap
            guard !e820.isEmpty else { throw .ENOSYS }
            map.nrEntries = min(map.nrEntries, UInt32(e820.count))
            let entries = e820.prefix(Int(map.nrEntries)).flatMap {
                E820Entry(addr: $0.addr, size: $0.size, type: $0.type).bytes
            }
            try ctx.copyOut(entries, to: map.buffer)
            try ctx.copyOut(map, to: arg)
            return 0
        default:
            throw unknownSubop(call, ctx)
        }
    }

    /// `xenmem_add_to_physmap_one` for the spaces a PVH guest uses.
    func addToPhysmap(_ d: Domain, space: UInt32, idx: UInt64, gfn: GFN) throws(XenErrno) {
        switch MapSpace(rawValue: space) {
        case .sharedInfo:
            guard idx == 0 else { throw .EINVAL }
            try d.physmap.place(.sharedInfo, at: gfn, in: d.memory)
            XenTime.updateAll(d)
            d.evtchn.flushDeferred()
        case .grantTable:
            // Grant table v1 has no status frames.
            guard idx & xenMapIdxGrantTableStatus == 0, idx < UInt64(d.physmap.maxGrantFrames) else {
                throw .EINVAL
            }
            try d.physmap.place(.grantFrame(Int(idx)), at: gfn, in: d.memory)
        case .gmfn, .gmfnRange:
            // Moving RAM frames needs a P2M with holes in RAM; not supported yet.
            throw .EOPNOTSUPP
        case .gmfnForeign, .devMMIO, nil:
            throw .EINVAL
        }
    }
}
