import Testing
@testable import Toolstack

@Suite("xl.cfg: CPU sets (xl's parse_cpurange)")
struct XLConfigCPUSetTests {
    @Test func formsXLAccepts() throws {
        #expect(try CPUSet(parsing: "all") == .all)
        #expect(try CPUSet(parsing: "all").isAll)
        #expect(try CPUSet(parsing: "3") == CPUSet([3]))
        #expect(try CPUSet(parsing: "0-3,5,^1") == CPUSet([0, 2, 3, 5]))
        #expect(try CPUSet(parsing: "all,^0-1").members(below: 4) == [2, 3])
        #expect(try CPUSet(parsing: ",,2,,") == CPUSet([2]))  // strtok skips empty items
        #expect(try CPUSet(parsing: " 4- 5") == CPUSet([4, 5]))  // strtoul skips leading blanks
        #expect(try CPUSet(parsing: "4095").contains(4095))
        // Items apply in order: a later add undoes an earlier remove.
        #expect(try CPUSet(parsing: "0-3,^2,2") == CPUSet(0...3))
    }

    @Test func refusals() {
        for bad in ["-1", "1-", "2-1", "a", "1 ", "0x1", "^all", "nodes:0", "node:1", "4096", "0-4096", "99999999999"] {
            #expect(throws: CPUSetError.self, "\(bad)") { try CPUSet(parsing: bad) }
        }
    }

    @Test func setOperationsAndDescription() {
        var s = CPUSet()
        #expect(s.isEmpty && s.count == 0 && s.description == "")
        s.insert(0); s.insert(1); s.insert(2); s.insert(5); s.insert(64); s.insert(65)
        s.insert(-1); s.insert(CPUSet.capacity)  // ignored
        #expect(s.count == 6)
        #expect(s.members == [0, 1, 2, 5, 64, 65])
        #expect(s.description == "0-2,5,64-65")
        s.remove(1)
        #expect(s.description == "0,2,5,64-65")
        #expect(!s.contains(1) && !s.contains(-3) && !s.contains(1 << 20))
        #expect(CPUSet.all.count == CPUSet.capacity && CPUSet.all.description == "all")
        var almost = CPUSet.all
        almost.remove(7)
        #expect(!almost.isAll && almost.description == "0-6,8-4095")
    }

    @Test func affinityPerVCPU() {
        let uniform = CPUAffinity.uniform(CPUSet([1]))
        #expect(uniform.cpus(forVCPU: 0) == CPUSet([1]) && uniform.cpus(forVCPU: 9) == CPUSet([1]))
        let per = CPUAffinity.perVCPU([CPUSet([0]), CPUSet([2, 3])])
        #expect(per.cpus(forVCPU: 1) == CPUSet([2, 3]))
        #expect(per.cpus(forVCPU: 2) == .all)
        #expect(per.cpus(forVCPU: -1) == .all)
    }
}
