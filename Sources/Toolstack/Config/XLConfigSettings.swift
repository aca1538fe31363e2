/// The settings of an xl.cfg (and its `key=value` overrides) as libxlu stores them: a later
/// setting of a key wins, and `KEY += VALUE` joins VALUE onto the key's current value
/// (string to string, list to list; libxlu `xlu__cfg_set_store`). With no current value,
/// `+=` sets it. A key set with `+=` cannot be read as a number (libxlu refuses it too).
public struct XLConfigSettings: Sendable, Equatable {
    /// Every setting in the order given, each `+=` already joined with what came before it.
    public private(set) var entries: [XLConfigSetting] = []

    public init() {}

    /// Adds one setting after the others.
    public mutating func add(_ setting: XLConfigSetting) throws(XLConfigError) {
        var setting = setting
        if setting.operation == .append, let previous = self[setting.key] {
            switch (previous.value.content, setting.value.content) {
            case (.atom(let a), .atom(let b)):
                setting.value.content = .atom(a + b)
            case (.list(let a), .list(let b)):
                setting.value.content = .list(a + b)
            default:
                throw XLConfigError(.badValue, source: setting.location.source, location: setting.location, key: setting.key,
                                    "can't add a [list] to a \"string\" or a \"string\" to a [list] (line \(previous.location.line) set it)")
            }
        }
        entries.append(setting)
    }

    /// Adds settings in order.
    public mutating func add(contentsOf settings: [XLConfigSetting]) throws(XLConfigError) {
        for s in settings { try add(s) }
    }

    /// The setting in force for `key`: the last one.
    public subscript(key: String) -> XLConfigSetting? {
        entries.last { $0.key == key }
    }

    /// Every key set, once each, in the order of their settings in force.
    public var keys: [String] {
        var seen = Set<String>()
        return entries.reversed().filter { seen.insert($0.key).inserted }.reversed().map(\.key)
    }
}
