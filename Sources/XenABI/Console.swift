/// `console_io` (xen.h) and the PV console ring (io/console.h).
public enum ConsoleIOCmd: UInt64, Sendable {
    case write = 0
    case read = 1
}

/// `struct xencons_interface`: in[1024], out[2048], then the four indexes.
public enum XenconsInterface {
    public static let inSize = 1024
    public static let outSize = 2048
    public enum Offset {
        public static let `in` = 0, out = 1024, inCons = 3072, inProd = 3076
        public static let outCons = 3080, outProd = 3084
    }
    public static let size = 3088
}
