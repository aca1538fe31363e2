/// One registered watch (Xen's `struct watch`, watch.c): a canonical name, the client's token, and
/// how many leading characters to strip from event paths so a watch set with a relative name
/// reports relative names.
struct Watch: Sendable {
    var name: String
    var token: [UInt8]
    var prefixLength: Int

    /// Whether a change of `changed` fires this watch: exact changes (descendants removed by RM,
    /// special nodes) match only the same name; others match the watched node and everything
    /// below it.
    func matches(_ changed: String, exact: Bool) -> Bool {
        exact ? changed == name : XenStorePath.isChild(changed, of: name)
    }

    /// The XS_WATCH_EVENT payload for a change of `changed` ("path\0token\0"), or `nil` when it
    /// would exceed `XENSTORE_PAYLOAD_MAX` (Xen drops such events).
    func eventPayload(for changed: String) -> [UInt8]? {
        let path = Array(changed.utf8.dropFirst(min(prefixLength, changed.utf8.count)))
        let payload = path + [0] + token + [0]
        return payload.count <= XenStoreLimits.payloadMax ? payload : nil
    }
}
