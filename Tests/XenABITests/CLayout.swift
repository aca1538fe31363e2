import CXenLayout
import Testing

/// Xen's own answers, from the CXenLayout C target that compiles /usr/include/xen.
/// Each lookup records a test failure for a name the C table does not know (it returns -1).
enum CLayout {
    static func size(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let v = cxl_sizeof(name)
        #expect(v >= 0, "CXenLayout knows no sizeof(\(name))", sourceLocation: sourceLocation)
        return v
    }

    static func offset(_ field: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let v = cxl_offsetof(field)
        #expect(v >= 0, "CXenLayout knows no offsetof(\(field))", sourceLocation: sourceLocation)
        return v
    }

    static func fieldSize(_ field: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let v = cxl_fieldsize(field)
        #expect(v >= 0, "CXenLayout knows no field \(field)", sourceLocation: sourceLocation)
        return v
    }

    static func constant(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int64 {
        let v = cxl_const(name)
        #expect(v != -1, "CXenLayout knows no constant \(name)", sourceLocation: sourceLocation)
        return v
    }

    /// Every (name, value) of xen/errno.h in header order, aliases included.
    static var errnos: [(name: String, value: Int32)] {
        (0..<cxl_errno_count()).map { i in
            (String(cString: cxl_errno_name(i)!), Int32(cxl_errno_value(i)))
        }
    }
}

/// One C struct field as the Swift side declares it: where it is and how wide Swift reads it.
struct FieldSpec: Sendable, CustomTestStringConvertible {
    /// "struct.field", as CXenLayout names it.
    var field: String
    var offset: Int
    /// Width in bytes of the field (for arrays: the whole array).
    var width: Int
    init(_ field: String, _ offset: Int, _ width: Int) {
        self.field = field
        self.offset = offset
        self.width = width
    }
    var testDescription: String { field }
}

/// One named constant: Swift's value against the C macro.
struct ConstSpec: Sendable, CustomTestStringConvertible {
    var cName: String
    var swift: Int64
    init(_ cName: String, _ swift: some BinaryInteger) {
        self.cName = cName
        self.swift = Int64(truncatingIfNeeded: swift)  // C gives unsigned 64-bit values as bit patterns
    }
    var testDescription: String { cName }
}

/// Checks one field's offset and width against C.
func expectField(_ spec: FieldSpec, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(spec.offset == CLayout.offset(spec.field, sourceLocation: sourceLocation),
            "offset of \(spec.field)", sourceLocation: sourceLocation)
    #expect(spec.width == CLayout.fieldSize(spec.field, sourceLocation: sourceLocation),
            "width of \(spec.field)", sourceLocation: sourceLocation)
}

func expectConstant(_ spec: ConstSpec, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(spec.swift == CLayout.constant(spec.cName, sourceLocation: sourceLocation),
            "\(spec.cName)", sourceLocation: sourceLocation)
}

/// `value`'s low `count` bytes, little-endian: an encoder independent of `[UInt8].setLE`.
func leBytes(_ value: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// `sizeof(struct name)` zero bytes with each field's value stored little-endian at C's offset and
/// C's width: the bytes a C guest would hand us, built without any Swift offset.
func cStructBytes(_ name: String, _ values: [(field: String, value: UInt64)],
                  sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8] {
    let size = CLayout.size(name, sourceLocation: sourceLocation)
    guard size > 0 else { return [] }
    var b = [UInt8](repeating: 0, count: size)
    for (field, value) in values {
        let off = CLayout.offset("\(name).\(field)", sourceLocation: sourceLocation)
        let width = CLayout.fieldSize("\(name).\(field)", sourceLocation: sourceLocation)
        guard off >= 0, width > 0, off + width <= size else { continue }
        b.replaceSubrange(off..<(off + width), with: leBytes(value, width))
    }
    return b
}
