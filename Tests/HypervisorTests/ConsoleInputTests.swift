import GuestMemory
@testable import Hypervisor
import Testing
import XenABI

/// Console input: the bounded queue, the ring's `in` side, CONSOLEIO_read.
@Suite struct ConsoleInputTests {
    // MARK: The ring

    @Test func inputWaitsUntilTheGuestConnectsTheRing() throws {
        let f = try ConsoleRingFixture()
        #expect(f.console.input(Array("hello".utf8)) == 5)
        // The guest has not notified the port yet: nothing in the ring, no event.
        #expect(try f.inProd == 0)
        #expect(f.console.inputQueued == 5)
        #expect(!f.takePending())

        try f.guestNotify()
        #expect(try f.inProd == 5)
        #expect(try f.inBytes(from: 0, count: 5) == Array("hello".utf8))
        #expect(f.console.inputQueued == 0)
        #expect(f.console.inputDelivered == 5)
        #expect(f.takePending(), "the backend notifies the guest after filling in[]")
    }

    @Test func inputToAConnectedRingArrivesAtOnceWithAnEvent() throws {
        let f = try ConsoleRingFixture()
        try f.guestNotify()
        #expect(!f.takePending())
        #expect(f.console.input(Array("ab".utf8)) == 2)
        #expect(f.takePending())
        #expect(f.console.input(Array("cd".utf8)) == 2)
        #expect(f.takePending())
        #expect(try f.inProd == 4)
        #expect(try f.inCons == 0)
        #expect(try f.guestConsume() == Array("abcd".utf8))
        // Nothing more to push: consuming and notifying raises no event.
        #expect(!f.takePending())
    }

    @Test func inputWrapsAroundTheRing() throws {
        let f = try ConsoleRingFixture()
        try f.setInCons(1020)
        try f.setInProd(1020)
        try f.guestNotify()
        let bytes = consolePattern(10)
        #expect(f.console.input(bytes) == 10)
        #expect(try f.inProd == 1030)
        #expect(try f.inBytes(from: 1020, count: 10) == bytes)
        // The physical layout: 4 bytes at the end of in[], 6 at its start.
        let raw = try f.memory.read(at: f.ring, count: XenconsInterface.inSize)
        #expect(Array(raw[1020..<1024]) == Array(bytes[0..<4]))
        #expect(Array(raw[0..<6]) == Array(bytes[4..<10]))
    }

    @Test func indexesWrapAround32Bits() throws {
        let f = try ConsoleRingFixture()
        try f.setInCons(UInt32.max - 2)
        try f.setInProd(UInt32.max - 2)
        try f.guestNotify()
        #expect(f.console.input(consolePattern(8)) == 8)
        #expect(try f.inProd == 5)
        #expect(try f.guestConsume() == consolePattern(8))
    }

    @Test func aFullRingHoldsInputBackUntilTheGuestConsumes() throws {
        let f = try ConsoleRingFixture()
        try f.guestNotify()
        let bytes = consolePattern(3000)
        #expect(f.console.input(bytes) == 3000, "the queue takes it all; the ring a part")
        #expect(try f.inProd == UInt32(XenconsInterface.inSize))
        #expect(f.console.inputQueued == 3000 - XenconsInterface.inSize)

        // A notification without consuming moves nothing.
        _ = f.takePending()
        try f.guestNotify()
        #expect(try f.inProd == UInt32(XenconsInterface.inSize))
        #expect(!f.takePending())

        var got: [UInt8] = []
        for _ in 0..<10 where got.count < bytes.count {
            got += try f.guestConsume()
        }
        #expect(got == bytes, "every byte, in order, through a ring a third of the size")
        #expect(f.console.inputQueued == 0)
        #expect(f.console.inputDelivered == 3000)
    }

    @Test func theQueueIsBoundedAndSaysHowMuchItTook() throws {
        let f = try ConsoleRingFixture()
        let cap = Console.inputCapacity
        let bytes = consolePattern(cap + 5000)
        // The ring is not connected: everything stays in the queue.
        #expect(f.console.input(bytes) == cap)
        #expect(f.console.input(bytes[cap...]) == 0)
        #expect(f.console.inputQueued == cap)

        // Room comes back when the guest reads; a waiting client hears of it once.
        let woken = CallCounter()
        f.console.notifyWhenInputSpace { woken.bump() }
        #expect(woken.count == 0)
        #expect(f.consoleRead(100) == 100)
        #expect(woken.count == 1)
        #expect(f.consoleRead(100) == 100)
        #expect(woken.count == 1, "one-shot")
        #expect(f.console.input(bytes[cap...]) == 200)

        // With room, the handler runs at once.
        let now = CallCounter()
        #expect(f.consoleRead(10) == 10)
        f.console.notifyWhenInputSpace { now.bump() }
        #expect(now.count == 1)
    }

    @Test func aConnectedRingDrainsAFullQueueAndWakesTheClient() throws {
        let f = try ConsoleRingFixture()
        let cap = Console.inputCapacity
        let bytes = consolePattern(cap + 2000)
        #expect(f.console.input(bytes) == cap)
        let woken = CallCounter()
        f.console.notifyWhenInputSpace { woken.bump() }
        try f.guestNotify()   // connects: the ring takes 1024 bytes
        #expect(woken.count == 1)
        var sent = cap
        var got: [UInt8] = []
        while got.count < bytes.count {
            sent += f.console.input(bytes[sent...])
            got += try f.guestConsume()
        }
        #expect(got == bytes)
    }

    // MARK: Bad guests

    @Test func corruptIndexesNeverTrapAndInputKeepsFlowing() throws {
        let f = try ConsoleRingFixture()
        try f.guestNotify()
        for (cons, prod): (UInt32, UInt32) in [(0xDEAD_BEEF, 5), (10, 0), (0, 5000), (0xFFFF_FFFF, 0x7FFF_FFFF)] {
            try f.setInCons(cons)
            try f.setInProd(prod)
            #expect(f.console.input(Array("xyz".utf8)) == 3)
            // Resynchronised to an empty ring at the guest's in_cons, then filled.
            #expect(try f.inProd == cons &+ 3)
            #expect(try f.inBytes(from: cons, count: 3) == Array("xyz".utf8))
        }
        #expect(f.console.inputQueued == 0)
    }

    @Test func aRingOutsideGuestMemoryKeepsInputQueued() throws {
        let f = try ConsoleRingFixture()
        f.console.attachRing(at: GPA(0x7FFF_0000_0000), port: f.port)
        try f.guestNotify()
        #expect(f.console.input(Array("kept".utf8)) == 4)
        #expect(f.console.inputQueued == 4)
        #expect(f.consoleRead(16) == 4)
        #expect(try f.guestBuffer(4) == Array("kept".utf8))
    }

    // MARK: CONSOLEIO_read

    @Test func consoleReadReturnsQueuedBytes() throws {
        let f = try ConsoleRingFixture()
        #expect(f.consoleRead(16) == 0, "nothing queued")
        f.console.input(Array("abcdef".utf8))
        #expect(f.consoleRead(2) == 2)
        #expect(try f.guestBuffer(2) == Array("ab".utf8))
        #expect(f.consoleRead(64) == 4)
        #expect(try f.guestBuffer(4) == Array("cdef".utf8))
        #expect(f.consoleRead(64) == 0)
        #expect(f.console.inputDelivered == 6)
    }

    @Test func consoleReadOfMoreThanAPiece() throws {
        let f = try ConsoleRingFixture()
        let bytes = consolePattern(10_000)
        f.console.input(bytes)
        #expect(f.consoleRead(20_000) == 10_000)
        #expect(try f.guestBuffer(10_000) == bytes)
    }

    @Test func consoleReadIntoABadBufferIsEFAULTAndLosesNothing() throws {
        let f = try ConsoleRingFixture()
        f.console.input(Array("safe".utf8))
        #expect(f.consoleRead(16, at: EvtchnWorld.bad) == errno(.EFAULT))
        #expect(f.console.inputQueued == 4)
        #expect(f.consoleRead(16) == 4)
        #expect(try f.guestBuffer(4) == Array("safe".utf8))
    }

    @Test func consoleReadOfZeroBytesOrFromABadBufferWithNoInputIsZero() throws {
        let f = try ConsoleRingFixture()
        f.console.input(Array("x".utf8))
        #expect(f.consoleRead(0, at: EvtchnWorld.bad) == 0)
        #expect(f.console.inputQueued == 1)
        #expect(f.consoleRead(1) == 1)
        // Xen copies nothing when there is nothing to read, so a bad buffer is not touched.
        #expect(f.consoleRead(16, at: EvtchnWorld.bad) == 0)
    }

    @Test func consoleReadOfANegativeCountIsE2BIG() throws {
        let f = try ConsoleRingFixture()
        f.console.input(Array("x".utf8))
        #expect(f.consoleRead(0x8000_0000) == errno(.E2BIG))
        #expect(f.consoleRead(0xFFFF_FFFF) == errno(.E2BIG))
        #expect(f.console.inputQueued == 1)
    }

    @Test func whicheverConsumerReadsFirstGetsAByte() throws {
        let f = try ConsoleRingFixture()
        try f.guestNotify()
        let bytes = consolePattern(1500)
        f.console.input(bytes)
        // The ring took the first 1024; CONSOLEIO_read gets the rest, and then the ring
        // gets nothing more.
        #expect(f.consoleRead(4096) == 1500 - 1024)
        #expect(try f.guestBuffer(1500 - 1024) == Array(bytes[1024...]))
        #expect(try f.guestConsume() == Array(bytes[..<1024]))
        #expect(try f.inProd == 1024)
    }

    @Test func inputRaisesVIRQConsoleWhenBound() throws {
        let f = try ConsoleRingFixture()
        let virqPort = try f.guest.bindVIRQ(.console).get()
        f.console.input(Array("k".utf8))
        #expect(f.guest.pending(virqPort))
    }

    // MARK: Concurrency

    @Test func concurrentWritersAndReadersLoseAndDuplicateNothing() async throws {
        let f = try ConsoleRingFixture()
        try f.guestNotify()
        let total = 200_000
        let bytes = consolePattern(total)
        let console = f.console
        // One producer with back-pressure, the guest consuming through the ring.
        let producer = Task.detached {
            var sent = 0
            while sent < total {
                let n = console.input(bytes[sent...])
                sent += n
                if n == 0 { await Task.yield() }
            }
        }
        var got: [UInt8] = []
        while got.count < total {
            let chunk = try f.guestConsume()
            got += chunk
            if chunk.isEmpty { await Task.yield() }
        }
        await producer.value
        #expect(got == bytes)
    }
}
