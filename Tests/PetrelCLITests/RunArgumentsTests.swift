import ArgumentParser
import Testing
import Toolstack

@testable import petrel

/// `RunArguments.quickParse` must give exactly what swift-argument-parser gives `RunCommand`
/// for every line it accepts, and decline whatever it is unsure of.
@Suite struct RunArgumentsTests {
    /// What swift-argument-parser makes of `args`, or nil where it refuses them.
    static func viaArgumentParser(_ args: [String]) -> RunArguments? {
        (try? RunCommand.parse(args))?.arguments
    }

    @Test func plainFormsParse() throws {
        let r = try #require(RunArguments.quickParse(
            ["k.elf", "--memory", "16", "--cmdline", "test=boot n=3", "--name=web", "--vcpus", "2", "--initrd", "rd"]))
        #expect(r == RunArguments(kernel: "k.elf", memory: 16, cmdline: "test=boot n=3", initrd: "rd", name: "web", vcpus: 2))
        #expect(RunArguments.quickParse([]) == RunArguments())
        let cfg = try #require(RunArguments.quickParse(["g.cfg", "memory=128", "--memory", "64", "name=\"x\""]))
        #expect(cfg.kernel == "g.cfg")
        #expect(cfg.settings == ["memory=128", "name=\"x\""])
        #expect(cfg.memory == 64)
    }

    @Test(arguments: [
        ["--help"], ["-h"], ["k", "--"], ["k", "--memory"], ["k", "--memory", "lots"], ["k", "--memory", "-5"],
        ["k", "--vcpus", "two"], ["k", "--cmdline", "-v"], ["k", "--bogus", "1"], ["-x"], ["k", "--memory", "1", "--memory", "2"],
        ["k", "--memory=1", "--memory", "2"], ["--", "k"], ["k", "-"], ["--cmdline=", "k"],
    ])
    func declinesWhatIsNotPlain(_ args: [String]) {
        #expect(RunArguments.quickParse(args) == nil)
    }

    @Test(arguments: [
        [], ["k.elf"], ["k.elf", "--memory", "16", "--cmdline", "test=boot"], ["--memory=32", "k"],
        ["g.cfg", "a=1", "b=2", "--name", "n"], ["--vcpus", "3", "k", "x=1"], ["k", "--initrd=rd", "--cmdline=a=b"],
        ["k", "--memory", "+5"], ["k", "--vcpus", "0"], ["k", "--name", ""], ["", "--cmdline", "x"],
    ])
    func agreesWithArgumentParser(_ args: [String]) throws {
        let quick = try #require(RunArguments.quickParse(args))
        #expect(Self.viaArgumentParser(args) == quick)
    }

    /// Random lines from a pool of tokens: whatever quickParse accepts, swift-argument-parser
    /// parses to the same arguments.
    @Test func randomLinesAgree() {
        let pool = ["k.elf", "g.cfg", "memory=8", "name=\"a b\"", "--memory", "--memory=4", "16", "-3", "x",
                    "--cmdline", "--cmdline=q", "test=boot", "--name", "--name=n", "--vcpus", "2", "--vcpus=1",
                    "--initrd", "rd.img", "--initrd=", "--", "-h", "--help", "--bogus", "=", "--=1", ""]
        var rng = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<2000 {
            let args = (0..<Int.random(in: 0...6, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            guard let quick = RunArguments.quickParse(args) else { continue }
            accepted += 1
            #expect(Self.viaArgumentParser(args) == quick, "\(args)")
        }
        #expect(accepted > 100)
    }
}
