/// `event_channel_op` (event_channel.h).
public enum EvtchnOpCmd: UInt64, Sendable {
    case bindInterdomain = 0, bindVirq = 1, bindPirq = 2, close = 3, send = 4, status = 5
    case allocUnbound = 6, bindIPI = 7, bindVCPU = 8, unmask = 9, reset = 10
    case initControl = 11, expandArray = 12, setPriority = 13, resetCont = 14
}

/// `struct evtchn_send`: one `evtchn_port_t`.
public let evtchnSendSize = 4
