import XenABI

extension Hypervisor {
    /// The most `console_io` write copies per call piece (Xen copies in small chunks too).
    static let consoleChunk = 4096

    /// `console_io(cmd, count, buffer)` (xen/drivers/char/console.c: `do_console_io`).
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
            // No console input source yet: nothing to read.
            return 0
        case nil:
            throw unknownSubop(call, ctx)
        }
    }
}
