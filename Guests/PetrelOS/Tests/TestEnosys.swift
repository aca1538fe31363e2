// test=enosys: hypercall numbers with no handler return -ENOSYS.
//   50 (__HYPERVISOR_arch_2, unused on x86) and 63 (the last of Xen's 64 hypercalls).
//   Slots 64..127 of the page are not called: Xen fills them, but a hypervisor that
//   only fills 64 slots would leave them zero.

enum TestEnosys {
    static func run(_ t: inout TestContext) {
        t.expectRC("hypercall 50 (arch_2)", Xen.call(__HYPERVISOR_arch_2), -XenErrno.ENOSYS)
        t.expectRC("hypercall 63", Xen.call(63), -XenErrno.ENOSYS)
    }
}
