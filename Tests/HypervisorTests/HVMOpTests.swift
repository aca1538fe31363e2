import Hypervisor
import Testing
import XenABI

@Suite struct HVMOpTests {
    func param(_ f: Fixture, _ op: HVMOpCmd, _ index: UInt32, _ value: UInt64 = 0,
               domid: DomainID = .domidSelf) throws -> (Int64, UInt64) {
        try f.put(XenHVMParam(domid: domid, index: index, value: value).bytes)
        let rc = f.call(.hvmOp, op.rawValue, Fixture.scratch.raw)
        return (rc, XenHVMParam(bytes: try f.get(XenHVMParam.size)).value)
    }

    @Test func setAndGetCallbackIRQ() throws {
        let f = try Fixture()
        let v: UInt64 = 2 << 56 | 0xF3
        #expect(try param(f, .setParam, HVMParam.callbackIRQ, v).0 == 0)
        #expect(try param(f, .getParam, HVMParam.callbackIRQ) == (0, v))
        #expect(f.domain.params[HVMParam.callbackIRQ] == v)
    }

    @Test func unsetReadsZero() throws {
        let f = try Fixture()
        #expect(try param(f, .getParam, HVMParam.storePFN, 99) == (0, 0))
    }

    @Test func outOfRangeIsEINVAL() throws {
        let f = try Fixture()
        #expect(try param(f, .getParam, HVMParam.count).0 == errno(.EINVAL))
        #expect(try param(f, .setParam, HVMParam.count, 1).0 == errno(.EINVAL))
        #expect(try param(f, .getParam, 0xFFFF_FFFF).0 == errno(.EINVAL))
    }

    @Test func guestMayNotSetToolstackParams() throws {
        let f = try Fixture()
        f.domain.params[HVMParam.consolePFN] = 0xFEFFF
        #expect(try param(f, .setParam, HVMParam.consolePFN, 1).0 == errno(.EPERM))
        #expect(f.domain.params[HVMParam.consolePFN] == 0xFEFFF)
        #expect(try param(f, .setParam, HVMParam.paeEnabled, 1).0 == errno(.EPERM))
        #expect(try param(f, .getParam, HVMParam.paeEnabled).0 == errno(.ENODATA))
        #expect(try param(f, .getParam, HVMParam.identityPT).0 == errno(.EPERM))
        #expect(try param(f, .setParam, HVMParam.consoleEvtchn, 5).0 == 0)
    }

    @Test func otherDomains() throws {
        let f = try Fixture()
        #expect(try param(f, .getParam, 0, domid: DomainID(12345)).0 == errno(.ESRCH))
        let other = try f.hypervisor.createDomain(DomainConfig(name: "other", memoryBytes: 1 << 20))
        #expect(try param(f, .getParam, 0, domid: other.id).0 == errno(.EPERM))
        #expect(try param(f, .getParam, HVMParam.callbackIRQ, domid: f.domain.id).0 == 0)
    }

    @Test func badPointerAndUnknownOp() throws {
        let f = try Fixture()
        #expect(f.call(.hvmOp, HVMOpCmd.getParam.rawValue, Fixture.bad.raw) == errno(.EFAULT))
        #expect(f.call(.hvmOp, 200, Fixture.scratch.raw) == errno(.ENOSYS))
    }
}
