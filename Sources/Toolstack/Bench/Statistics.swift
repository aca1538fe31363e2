/// Small order statistics for benchmark samples.
public enum Statistics {
    public static func median(_ xs: [Double]) -> Double { percentile(xs, 50) }

    /// Nearest-rank percentile (p in 0…100) of an unsorted sample.
    public static func percentile(_ xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let s = xs.sorted()
        let rank = Int((p / 100 * Double(s.count)).rounded(.up)) - 1
        return s[min(max(rank, 0), s.count - 1)]
    }

    /// Formats with `digits` decimals, no Foundation needed.
    public static func format(_ x: Double, _ digits: Int = 2) -> String {
        guard x.isFinite else { return "nan" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let v = (x * scale).rounded() / scale
        var s = String(v)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        } else if digits > 0 {
            s += "." + String(repeating: "0", count: digits)
        }
        return s
    }
}
