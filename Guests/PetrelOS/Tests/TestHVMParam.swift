// test=hvmparam: HYPERVISOR_hvm_op(HVMOP_get_param/HVMOP_set_param), xen/hvm/params.h,
// following xen/arch/x86/hvm/hvm.c:
//   CONSOLE_PFN and CONSOLE_EVTCHN are non-zero;
//   CALLBACK_IRQ reads 0 before the guest sets it (the builder never sets it, and it
//   is one of the params a guest may read on every Xen version);
//   set CALLBACK_IRQ = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 0xF3, get returns it;
//   index 39 (HVM_NR_PARAMS) is -EINVAL for get and set;
//   setting CONSOLE_PFN (toolstack-only) is -EPERM and leaves it unchanged;
//   an unmapped argument is -EFAULT; hvm_op 200 is -ENOSYS; domid 12345 is -ESRCH.
// Interrupts stay disabled, so the upcall vector is never actually delivered.

enum TestHVMParam {
    static func run(_ t: inout TestContext) {
        let (rcPfn, pfn) = Xen.hvmGetParam(HVM_PARAM_CONSOLE_PFN)
        t.expectRC("get HVM_PARAM_CONSOLE_PFN", rcPfn, 0)
        t.expect("HVM_PARAM_CONSOLE_PFN", pfn != 0, expected: "non-zero", got: Int64(bitPattern: pfn))
        let (rcPort, port) = Xen.hvmGetParam(HVM_PARAM_CONSOLE_EVTCHN)
        t.expectRC("get HVM_PARAM_CONSOLE_EVTCHN", rcPort, 0)
        t.expect("HVM_PARAM_CONSOLE_EVTCHN", port != 0, expected: "non-zero", got: Int64(bitPattern: port))

        let (rcUnset, unset) = Xen.hvmGetParam(HVM_PARAM_CALLBACK_IRQ)
        t.expectRC("get HVM_PARAM_CALLBACK_IRQ before set", rcUnset, 0)
        t.expectEqual("HVM_PARAM_CALLBACK_IRQ before set", unset, 0)

        let callback = (UInt64(PETREL_HVM_PARAM_CALLBACK_TYPE_VECTOR) << 56) | 0xF3
        t.expectRC("set HVM_PARAM_CALLBACK_IRQ", Xen.hvmSetParam(HVM_PARAM_CALLBACK_IRQ, callback), 0)
        let (rcCb, cb) = Xen.hvmGetParam(HVM_PARAM_CALLBACK_IRQ)
        t.expectRC("get HVM_PARAM_CALLBACK_IRQ after set", rcCb, 0)
        t.expectEqual("HVM_PARAM_CALLBACK_IRQ after set", cb, callback)

        t.expectRC("get index HVM_NR_PARAMS", Xen.hvmGetParam(HVM_NR_PARAMS).0, -XenErrno.EINVAL)
        t.expectRC("set index HVM_NR_PARAMS", Xen.hvmSetParam(HVM_NR_PARAMS, 1), -XenErrno.EINVAL)

        t.expectRC("set HVM_PARAM_CONSOLE_PFN (toolstack only)",
                   Xen.hvmSetParam(HVM_PARAM_CONSOLE_PFN, pfn &+ 1), -XenErrno.EPERM)
        t.expectEqual("HVM_PARAM_CONSOLE_PFN after refused set", Xen.hvmGetParam(HVM_PARAM_CONSOLE_PFN).1, pfn)

        t.expectRC("HVMOP_get_param with unmapped argument",
                   Xen.call(__HYPERVISOR_hvm_op, UInt64(HVMOP_get_param), unmappedAddress), -XenErrno.EFAULT)

        var param = xen_hvm_param(domid: UInt16(PETREL_DOMID_SELF), pad: 0, index: UInt32(HVM_PARAM_CONSOLE_PFN), value: 0)
        let rcOp = withGuestAddress(of: &param) { Xen.call(__HYPERVISOR_hvm_op, 200, $0) }
        t.expectRC("hvm_op unknown op 200", rcOp, -XenErrno.ENOSYS)

        t.expectRC("get HVM_PARAM_CONSOLE_PFN of domid 12345",
                   Xen.hvmGetParam(HVM_PARAM_CONSOLE_PFN, domid: 12345).0, -XenErrno.ESRCH)

        // Leave no upcall configured.
        t.expectRC("reset HVM_PARAM_CALLBACK_IRQ", Xen.hvmSetParam(HVM_PARAM_CALLBACK_IRQ, 0), 0)
    }
}
