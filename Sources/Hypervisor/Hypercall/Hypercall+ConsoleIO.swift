import XenABI

extension Hypervisor {
    /// The most `console_io` write copies per call piece (Xen copies in small chunks too).
    static let consoleChunk = 4096

    /// `console_io(cmd, count, buffer)` (xen/drivers/char/console.c: `do_console_io`).
    /// CONSOLEIO_read returns the number of bytes read from the console's input queue (the
    /// same queue the PV ring's `in` is filled from), 0 if there is none.
    func consoleIO(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let count = Int(UInt32(truncatingIfNeeded: call.a1))
        let buffer = GVA(call.a2)
        switch ConsoleIOCmd(rawValue: call.a0) {
        case .write:
            // Output goes out piece by piece, so a fault part-way keeps what came before it.
            var done = 0
            while done < count {
                let n = min(Self.consoleChunk, count - done)
                let bytes = try ctx.copyIn(buffer.advanced(by: UInt64(done)), count: n)
                ctx.domain.console.write(bytes, memory: ctx.domain.memory)
                done += n
            }
            return 0
        case .read:
            // The result is a count or a negative errno, so counts that would look negative
            // as an int are refused.
            guard Int32(truncatingIfNeeded: count) >= 0 else { throw .E2BIG }
            // Bytes go out piece by piece; a fault ends the read with -EFAULT, and what the
            // faulting piece held stays queued.
            let n = try ctx.domain.console.read(max: count, piece: Self.consoleChunk) { (offset, bytes) throws(XenErrno) in
                try ctx.copyOut(bytes, to: buffer.advanced(by: UInt64(offset)))
            }
            return UInt64(n)
        case nil:
            throw unknownSubop(call, ctx)
        }
    }
}
