import XenABI
// TEMPORARY until the event-channel rewrite lands; deleted then.
extension EventChannelTable {
    public func raiseVIRQ(_ virq: UInt32, on vcpu: VCPUID) {}
    public func isPending(_ port: EvtchnPort) -> Bool { false }
    public func portIsValid(_ port: EvtchnPort) -> Bool { Int(port.raw) <= limit }
}
