import XenABI

extension Hypervisor {
    /// What `XENVER_extraversion`, `_changeset` and `_compile_info` report.
    static let extraversion = ".0-petrel"
    static let changeset = "petrel"

    /// `xen_version(cmd, arg)` (xen/common/kernel.c: `do_xen_version`), with the default XSM
    /// policy: version, platform_parameters and get_features are open to all; extraversion,
    /// compile_info, capabilities, changeset, pagesize and guest_handle to every guest; the rest
    /// (commandline, build_id, unknown commands) only to a privileged domain.
    func xenVersion(_ call: HypercallArgs, _ ctx: HypercallContext) throws(XenErrno) -> UInt64 {
        let arg = GVA(call.a1)
        let domain = ctx.domain
        guard let cmd = XenVersionCmd(rawValue: call.a0) else {
            guard domain.config.privileged else { throw .EPERM }
            throw unknownSubop(call, ctx)
        }
        switch cmd {
        case .version:
            return UInt64(XenRelease.versionWord)
        case .extraversion:
            var b = [UInt8](repeating: 0, count: xenExtraversionLength)
            b.setCString(Self.extraversion, at: 0, length: xenExtraversionLength)
            try ctx.copyOut(b, to: arg)
            return 0
        case .compileInfo:
            try ctx.copyOut(XenCompileInfo.encode(compiler: "swiftc", by: "petrel", domain: "petrel",
                                                  date: "2026-11-24"), to: arg)
            return 0
        case .capabilities:
            var b = [UInt8](repeating: 0, count: xenCapabilitiesLength)
            b.setCString(capabilities(for: domain.config.arch), at: 0, length: xenCapabilitiesLength)
            try ctx.copyOut(b, to: arg)
            return 0
        case .changeset:
            var b = [UInt8](repeating: 0, count: xenChangesetLength)
            b.setCString(Self.changeset, at: 0, length: xenChangesetLength)
            try ctx.copyOut(b, to: arg)
            return 0
        case .platformParameters:
            var b = [UInt8](repeating: 0, count: xenPlatformParametersSize)
            b.setLE(domain.config.arch == .x86_64 ? x86HypervisorVirtStart : 0, at: 0)
            try ctx.copyOut(b, to: arg)
            return 0
        case .getFeatures:
            var fi = try ctx.copyIn(XenFeatureInfo.self, from: arg)
            guard fi.submapIdx < xenFeatureSubmaps else { throw .EINVAL }
            fi.submap = features(for: domain)
            try ctx.copyOut(fi, to: arg)
            return 0
        case .pagesize:
            // Xen insists on a NULL argument here.
            guard call.a1 == 0 else { throw .EINVAL }
            return xenPageSize
        case .guestHandle:
            try ctx.copyOut(domain.config.handle, to: arg)
            return 0
        case .commandline, .buildID:
            guard domain.config.privileged else { throw .EPERM }
            if cmd == .buildID { throw .ENODATA }
            var b = [UInt8](repeating: 0, count: xenCommandlineLength)
            b.setCString("", at: 0, length: xenCommandlineLength)
            try ctx.copyOut(b, to: arg)
            return 0
        }
    }

    func capabilities(for arch: GuestArch) -> String {
        switch arch {
        case .x86_64: "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p"
        case .aarch64: "xen-3.0-aarch64 xen-3.0-armv7l"
        }
    }

    /// Feature submap 0: only what Petrel honours for a translated (PVH) guest.
    public func features(for domain: Domain) -> UInt32 {
        var f: [XenFeature] = [.writablePageTables, .autoTranslatedPhysmap, .notDirectMapped]
        if domain.config.arch == .x86_64 { f += [.hvmCallbackVector, .hvmSafePvclock] }
        if domain.config.privileged { f.append(.dom0) }
        return f.reduce(0) { $0 | (1 << $1.rawValue) }
    }
}
