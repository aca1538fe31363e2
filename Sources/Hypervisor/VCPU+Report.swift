import XenABI

extension VCPU {
    /// What `xl vcpu-list` shows of a vCPU: its runstate and the time it has spent running.
    public struct Report: Sendable, Equatable {
        public enum State: String, Sendable { case running, runnable, blocked, offline }
        public var state: State
        /// Nanoseconds in RUNSTATE_running, up to now.
        public var runningNanoseconds: UInt64
    }

    public var report: Report {
        let now = domain.systemTimeNow
        return state.withLock { s in
            var r = s.runstate
            r.change(to: r.state, at: now)
            let st: Report.State = switch r.state {
            case .running: .running
            case .runnable: .runnable
            case .blocked: .blocked
            case .offline: .offline
            }
            return Report(state: st, runningNanoseconds: r.time[Runstate.State.running.rawValue])
        }
    }
}

extension VCPU {
    /// For engines: the vCPU is held out of the guest by a toolstack pause (true) or released
    /// (false). Xen counts such time as RUNSTATE_offline ("pauses by the system administrator").
    public func setRunstatePaused(_ paused: Bool) { setRunstate(paused ? .offline : .running) }
}

extension VCPU {
    /// For the toolstack, once the engine has stopped the vCPU for good: its runstate is
    /// offline, so a kept (preserved) domain's reported time stops growing.
    public func markStopped() { setRunstate(.offline) }
}
