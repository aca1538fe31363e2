import XenABI

/// A vCPU's view of guest memory through its own page tables: how hypercall pointers are
/// dereferenced. Copies split at page boundaries and translate each page separately.
public struct GuestVirtualMemory: Sendable {
    public let physical: GuestPhysicalMemory
    public let translator: any AddressTranslator

    public init(physical: GuestPhysicalMemory, translator: any AddressTranslator) {
        self.physical = physical
        self.translator = translator
    }

    /// Copies `count` bytes in from guest-virtual `gva` (Xen's `copy_from_guest`).
    public func copyIn(_ gva: GVA, count: Int) throws(MemoryFault) -> [UInt8] {
        guard count >= 0, gva.raw <= UInt64.max - UInt64(count) else {
            throw MemoryFault(address: gva.raw, reason: .overflow)
        }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var done = 0
        while done < count {
            let va = gva.advanced(by: UInt64(done))
            let chunk = min(count - done, Int(xenPageSize - (va.raw & (xenPageSize - 1))))
            let gpa = try translator.translate(va, write: false)
            out.append(contentsOf: try physical.read(at: gpa, count: chunk))
            done += chunk
        }
        return out
    }

    /// Copies bytes out to guest-virtual `gva` (Xen's `copy_to_guest`).
    public func copyOut(_ bytes: [UInt8], to gva: GVA) throws(MemoryFault) {
        guard gva.raw <= UInt64.max - UInt64(bytes.count) else {
            throw MemoryFault(address: gva.raw, reason: .overflow)
        }
        // Translate every page first, so a fault part-way writes nothing.
        var pieces: [(GPA, Range<Int>)] = []
        var done = 0
        while done < bytes.count {
            let va = gva.advanced(by: UInt64(done))
            let chunk = min(bytes.count - done, Int(xenPageSize - (va.raw & (xenPageSize - 1))))
            let gpa = try translator.translate(va, write: true)
            guard physical.isBacked(gpa), physical.isBacked(gpa.advanced(by: UInt64(chunk - 1))) else {
                throw MemoryFault(address: gpa.raw, reason: .unbacked)
            }
            pieces.append((gpa, done..<(done + chunk)))
            done += chunk
        }
        for (gpa, range) in pieces { try physical.write(Array(bytes[range]), at: gpa) }
    }

    public func copyIn<T: XenStruct>(_: T.Type, from gva: GVA) throws(MemoryFault) -> T {
        T(bytes: try copyIn(gva, count: T.size))
    }

    public func copyOut<T: XenStruct>(_ value: T, to gva: GVA) throws(MemoryFault) {
        try copyOut(value.bytes, to: gva)
    }

    public func load<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at gva: GVA) throws(MemoryFault) -> T {
        try copyIn(gva, count: MemoryLayout<T>.size).le(T.self, at: 0)
    }
}
