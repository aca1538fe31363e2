// test=version: HYPERVISOR_xen_version (xen/version.h), following xen/common/kernel.c:
//   XENVER_version = 0x00040011 (Petrel reports 4.17) and equals CPUID leaf base+1;
//   extraversion/compile_info/capabilities/changeset/platform_parameters/guest_handle
//   return 0, write exactly their struct size (sentinel after it survives), strings
//   are NUL-terminated; capabilities contains "hvm-3.0-x86_64";
//   get_features(0) has XENFEAT_hvm_callback_vector and XENFEAT_auto_translated_physmap;
//   get_features(7) is -EINVAL (Xen has one submap: `default: return -EINVAL`)
//   and leaves submap untouched; pagesize (NULL arg) = 4096;
//   extraversion to an unmapped buffer = -EFAULT; unknown cmd 100 = -EPERM for an unprivileged
//   domain (Xen's default XSM policy sends unknown commands to the privileged check first).

enum TestVersion {
    static let sentinel: UInt8 = 0xa5

    static func run(_ t: inout TestContext) {
        let version = Xen.version(XENVER_version)
        t.expectEqual("XENVER_version", UInt64(bitPattern: version), 0x0004_0011)
        t.expectEqual("XENVER_version vs CPUID leaf base+1", UInt64(bitPattern: version), UInt64(Xen.cpuidVersion))

        string(&t, "XENVER_extraversion", XENVER_extraversion, size: MemoryLayout<xen_extraversion_t>.size)
        compileInfo(&t)
        string(&t, "XENVER_capabilities", XENVER_capabilities, size: MemoryLayout<xen_capabilities_info_t>.size)
        let caps = StaticPages.data
        t.expect("XENVER_capabilities contains hvm-3.0-x86_64",
                 caps.contains("hvm-3.0-x86_64", within: MemoryLayout<xen_capabilities_info_t>.size),
                 expected: "the substring", got: Int64(caps.cStringLength() ?? -1))
        string(&t, "XENVER_changeset", XENVER_changeset, size: MemoryLayout<xen_changeset_info_t>.size)
        written(&t, "XENVER_platform_parameters", XENVER_platform_parameters,
                size: MemoryLayout<xen_platform_parameters>.size)

        features(&t)

        t.expectRC("XENVER_pagesize", Xen.version(XENVER_pagesize), 4096)

        written(&t, "XENVER_guest_handle", XENVER_guest_handle, size: MemoryLayout<xen_domain_handle_t>.size)
        t.expect("XENVER_guest_handle wrote 16 bytes", !StaticPages.data.all(sentinel, count: 16),
                 expected: "handle bytes written", got: 0)

        t.expectRC("XENVER_extraversion to unmapped buffer",
                   Xen.version(XENVER_extraversion, unmappedAddress), -XenErrno.EFAULT)
        t.expectRC("xen_version unknown cmd 100", Xen.version(100, StaticPages.data.base), -XenErrno.EPERM)
    }

    /// Calls `cmd` with a sentinel-filled buffer; rc must be 0 and nothing past `size` written.
    private static func written(_ t: inout TestContext, _ check: StaticString, _ cmd: Int32, size: Int) {
        let buffer = StaticPages.data
        buffer.fill(sentinel, count: size + 64)
        t.expectRC(check, Xen.version(cmd, buffer.base), 0)
        t.expect(check, buffer.all(sentinel, from: size, count: 64),
                 expected: "no bytes written past the struct", got: Int64(size))
    }

    /// Like `written`, and the result must be a NUL-terminated string.
    private static func string(_ t: inout TestContext, _ check: StaticString, _ cmd: Int32, size: Int) {
        written(&t, check, cmd, size: size)
        t.expect(check, StaticPages.data.sub(0, size).cStringLength() != nil,
                 expected: "NUL-terminated string", got: Int64(size))
    }

    private static func compileInfo(_ t: inout TestContext) {
        written(&t, "XENVER_compile_info", XENVER_compile_info, size: MemoryLayout<xen_compile_info>.size)
        // compiler[64], compile_by[16], compile_domain[32], compile_date[32]: each NUL-terminated.
        let info = StaticPages.data
        field(&t, "XENVER_compile_info compiler", info, Int(PETREL_COMPILE_INFO_COMPILER), Int(PETREL_COMPILE_INFO_COMPILE_BY))
        field(&t, "XENVER_compile_info compile_by", info, Int(PETREL_COMPILE_INFO_COMPILE_BY), Int(PETREL_COMPILE_INFO_COMPILE_DOMAIN))
        field(&t, "XENVER_compile_info compile_domain", info, Int(PETREL_COMPILE_INFO_COMPILE_DOMAIN), Int(PETREL_COMPILE_INFO_COMPILE_DATE))
        field(&t, "XENVER_compile_info compile_date", info, Int(PETREL_COMPILE_INFO_COMPILE_DATE), MemoryLayout<xen_compile_info>.size)
    }

    private static func field(_ t: inout TestContext, _ check: StaticString, _ info: PhysRegion, _ start: Int, _ end: Int) {
        t.expect(check, info.sub(start, end - start).cStringLength() != nil,
                 expected: "NUL-terminated field", got: Int64(end - start))
    }

    private static func features(_ t: inout TestContext) {
        var fi = xen_feature_info(submap_idx: 0, submap: 0)
        let rc = withGuestAddress(of: &fi) { Xen.version(XENVER_get_features, $0) }
        t.expectRC("XENVER_get_features(0)", rc, 0)
        let want: UInt32 = (1 << UInt32(XENFEAT_hvm_callback_vector)) | (1 << UInt32(XENFEAT_auto_translated_physmap))
        t.expectEqual("XENVER_get_features(0) hvm_callback_vector|auto_translated_physmap",
                      UInt64(fi.submap & want), UInt64(want))

        var unknown = xen_feature_info(submap_idx: 7, submap: 0xdead_beef)
        let rc7 = withGuestAddress(of: &unknown) { Xen.version(XENVER_get_features, $0) }
        t.expectRC("XENVER_get_features(7)", rc7, -XenErrno.EINVAL)
        t.expectEqual("XENVER_get_features(7) submap untouched", UInt64(unknown.submap), 0xdead_beef)
    }
}
