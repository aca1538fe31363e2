// test=sched: HYPERVISOR_sched_op (xen/sched.h):
//   SCHEDOP_yield returns 0; SCHEDOP_shutdown with an unmapped argument is -EFAULT
//   (and the domain keeps running); unknown op 99 is -ENOSYS.

enum TestSched {
    static func run(_ t: inout TestContext) {
        t.expectRC("SCHEDOP_yield", Xen.yield(), 0)
        t.expectRC("SCHEDOP_shutdown with unmapped argument", Xen.schedOp(SCHEDOP_shutdown, unmappedAddress), -XenErrno.EFAULT)
        t.expectRC("sched_op unknown op 99", Xen.schedOp(99), -XenErrno.ENOSYS)
    }
}
