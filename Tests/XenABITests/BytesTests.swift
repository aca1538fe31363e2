import Testing
@testable import XenABI

@Suite("[UInt8] little-endian fields")
struct LittleEndianTests {
    @Test func readsLittleEndian() {
        let b: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09]
        #expect(b.le(UInt8.self, at: 0) == 0x01)
        #expect(b.le(UInt16.self, at: 0) == 0x0201)
        #expect(b.le(UInt32.self, at: 1) == 0x0504_0302)
        #expect(b.le(UInt64.self, at: 0) == 0x0807_0605_0403_0201)
        #expect(b.le(UInt64.self, at: 1) == 0x0908_0706_0504_0302)
    }

    @Test func lastValidOffset() {
        let b = [UInt8](repeating: 0xFF, count: 12)
        #expect(b.le(UInt64.self, at: 4) == UInt64.max)
        #expect(b.le(UInt32.self, at: 8) == UInt32.max)
        #expect(b.le(UInt8.self, at: 11) == 0xFF)
    }

    @Test func writesLittleEndianAndNothingElse() {
        var b = [UInt8](repeating: 0xAA, count: 12)
        b.setLE(UInt32(0x1122_3344), at: 2)
        #expect(b == [0xAA, 0xAA, 0x44, 0x33, 0x22, 0x11, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA])
        b.setLE(UInt64(0x0102_0304_0506_0708), at: 4)
        #expect(b == [0xAA, 0xAA, 0x44, 0x33, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01])
        b.setLE(UInt16(0xBEEF), at: 10)
        #expect(b[10...] == [0xEF, 0xBE])
    }

    @Test(arguments: [UInt64(0), 1, 0x80, 0xFF, 0x8000_0000, 0xDEAD_BEEF_CAFE_F00D, UInt64.max])
    func roundTripsEveryWidth(_ v: UInt64) {
        var b = [UInt8](repeating: 0, count: 16)
        b.setLE(UInt8(truncatingIfNeeded: v), at: 15)
        #expect(b.le(UInt8.self, at: 15) == UInt8(truncatingIfNeeded: v))
        b.setLE(UInt16(truncatingIfNeeded: v), at: 13)
        #expect(b.le(UInt16.self, at: 13) == UInt16(truncatingIfNeeded: v))
        b.setLE(UInt32(truncatingIfNeeded: v), at: 9)
        #expect(b.le(UInt32.self, at: 9) == UInt32(truncatingIfNeeded: v))
        b.setLE(v, at: 1)
        #expect(b.le(UInt64.self, at: 1) == v)
        #expect(b[1..<9] == leBytes(v, 8)[...])
    }

    @Test func outOfRangeReadTraps() async {
        await #expect(processExitsWith: .failure) {
            let b = [UInt8](repeating: 0, count: 8)
            _ = b.le(UInt64.self, at: 1)
        }
        await #expect(processExitsWith: .failure) {
            let b = [UInt8](repeating: 0, count: 8)
            _ = b.le(UInt16.self, at: -1)
        }
    }

    @Test func outOfRangeWriteTraps() async {
        await #expect(processExitsWith: .failure) {
            var b = [UInt8](repeating: 0, count: 4)
            b.setLE(UInt32(1), at: 1)
        }
    }
}

@Suite("[UInt8] C strings")
struct CStringTests {
    @Test func readsUpToTheNUL() {
        let b = Array("ab\0cd".utf8) + [0, 0, 0]
        #expect(b.cString(at: 0, length: 8) == "ab")
        #expect(b.cString(at: 3, length: 5) == "cd")
        #expect(b.cString(at: 2, length: 6) == "")
    }

    @Test func readsTheWholeFieldWhenThereIsNoNUL() {
        let b = Array("xyzw-tail".utf8)
        #expect(b.cString(at: 0, length: 4) == "xyzw")
        #expect(b.cString(at: 5, length: 4) == "tail")
        #expect(b.cString(at: 9, length: 0) == "")
    }

    @Test func doesNotReadPastTheField() {
        // A NUL after the field must not matter: the field ends first.
        let b = Array("abcdef\0".utf8)
        #expect(b.cString(at: 1, length: 3) == "bcd")
    }

    @Test func invalidUTF8IsRepaired() {
        let b: [UInt8] = [0x41, 0xFF, 0x42, 0]
        #expect(b.cString(at: 0, length: 4) == "A\u{FFFD}B")
    }

    @Test func writesAndPadsWithNULs() {
        var b = [UInt8](repeating: 0xEE, count: 10)
        b.setCString("hi", at: 1, length: 8)
        #expect(b == [0xEE, 0x68, 0x69, 0, 0, 0, 0, 0, 0, 0xEE])
        #expect(b.cString(at: 1, length: 8) == "hi")
    }

    @Test func truncatesToLeaveTheNUL() {
        var b = [UInt8](repeating: 0xEE, count: 6)
        b.setCString("abcdefgh", at: 1, length: 4)
        #expect(b == [0xEE, 0x61, 0x62, 0x63, 0, 0xEE])
        b.setCString("abc", at: 1, length: 4)  // exactly length - 1 fits
        #expect(b == [0xEE, 0x61, 0x62, 0x63, 0, 0xEE])
    }

    @Test func lengthOneHoldsOnlyTheNUL() {
        var b: [UInt8] = [0xEE, 0xEE]
        b.setCString("abc", at: 0, length: 1)
        #expect(b == [0, 0xEE])
    }

    @Test func emptyString() {
        var b = [UInt8](repeating: 0xEE, count: 4)
        b.setCString("", at: 0, length: 4)
        #expect(b == [0, 0, 0, 0])
    }

    @Test func utf8RoundTrip() {
        var b = [UInt8](repeating: 0, count: 16)
        b.setCString("pétrel", at: 0, length: 16)
        #expect(b.cString(at: 0, length: 16) == "pétrel")
    }

    @Test func embeddedNULEndsTheString() {
        var b = [UInt8](repeating: 0xEE, count: 8)
        b.setCString("a\0b", at: 0, length: 8)
        #expect(b.cString(at: 0, length: 8) == "a")
    }

    @Test func outOfRangeTraps() async {
        await #expect(processExitsWith: .failure) {
            let b = [UInt8](repeating: 0, count: 4)
            _ = b.cString(at: 2, length: 4)
        }
        await #expect(processExitsWith: .failure) {
            var b = [UInt8](repeating: 0, count: 4)
            b.setCString("x", at: 2, length: 4)
        }
    }
}
