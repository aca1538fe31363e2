import Hypervisor
import Testing
import XenABI

@Suite struct XenVersionTests {
    @Test func version() throws {
        let f = try Fixture()
        #expect(f.call(.xenVersion, XenVersionCmd.version.rawValue) == 0x0004_0011)
    }

    @Test func stringsAreNULTerminated() throws {
        let f = try Fixture()
        #expect(f.call(.xenVersion, XenVersionCmd.extraversion.rawValue, Fixture.scratch.raw) == 0)
        let extra = try f.get(16)
        #expect(extra.contains(0))
        #expect(f.call(.xenVersion, XenVersionCmd.capabilities.rawValue, Fixture.scratch.raw) == 0)
        let caps = try f.get(1024).cString(at: 0, length: 1024)
        #expect(caps.contains("hvm-3.0-x86_64"))
        #expect(f.call(.xenVersion, XenVersionCmd.changeset.rawValue, Fixture.scratch.raw) == 0)
        #expect(f.call(.xenVersion, XenVersionCmd.compileInfo.rawValue, Fixture.scratch.raw) == 0)
        #expect(try f.get(144).cString(at: 0, length: 64) == "swiftc")
    }

    @Test func features() throws {
        let f = try Fixture()
        try f.put(XenFeatureInfo(submapIdx: 0, submap: 0).bytes)
        #expect(f.call(.xenVersion, XenVersionCmd.getFeatures.rawValue, Fixture.scratch.raw) == 0)
        let fi = XenFeatureInfo(bytes: try f.get(8))
        #expect(fi.submap & (1 << XenFeature.hvmCallbackVector.rawValue) != 0)
        #expect(fi.submap & (1 << XenFeature.autoTranslatedPhysmap.rawValue) != 0)
        #expect(fi.submap & (1 << XenFeature.dom0.rawValue) == 0)
        try f.put(XenFeatureInfo(submapIdx: 1, submap: 0).bytes)
        #expect(f.call(.xenVersion, XenVersionCmd.getFeatures.rawValue, Fixture.scratch.raw) == errno(.EINVAL))
    }

    @Test func pagesizeAndHandle() throws {
        let f = try Fixture()
        #expect(f.call(.xenVersion, XenVersionCmd.pagesize.rawValue) == 4096)
        #expect(f.call(.xenVersion, XenVersionCmd.guestHandle.rawValue, Fixture.scratch.raw) == 0)
        #expect(try f.get(16) == f.domain.config.handle)
    }

    @Test func badPointersAreEFAULT() throws {
        let f = try Fixture()
        for cmd: XenVersionCmd in [.extraversion, .compileInfo, .capabilities, .changeset, .platformParameters,
                                   .getFeatures, .guestHandle] {
            #expect(f.call(.xenVersion, cmd.rawValue, Fixture.bad.raw) == errno(.EFAULT), "\(cmd)")
        }
    }

    @Test func privilegedOnlyCommands() throws {
        let f = try Fixture()
        #expect(f.call(.xenVersion, XenVersionCmd.commandline.rawValue, Fixture.scratch.raw) == errno(.EPERM))
        #expect(f.call(.xenVersion, 100) == errno(.EPERM))
        let p = try Fixture(privileged: true)
        #expect(p.call(.xenVersion, 100) == errno(.ENOSYS))
        #expect(p.call(.xenVersion, XenVersionCmd.commandline.rawValue, Fixture.scratch.raw) == 0)
    }
}
