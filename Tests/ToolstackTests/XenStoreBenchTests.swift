import Glibc
import Testing
import XenABI
import XenStore
@testable import Toolstack

/// The parts of `petrel bench xenstore` that need no guest: the in-process baselines, the
/// synchronous socket client against a real `XenStoreSocketServer`, and the reply checks.
@Suite(.serialized) struct XenStoreBenchTests {
    @Test func inProcessBaselinesMeasureSomething() throws {
        let api = try XenStoreBench.inprocess(rounds: 200)
        let wire = try XenStoreBench.inprocessWire(rounds: 200)
        #expect(api.isFinite && api > 0)
        #expect(wire.isFinite && wire > 0)
    }

    /// Request ids advance, and each request names dom0's bench node.
    @Test func requestsAreWellFormed() {
        var r = XenStoreBenchRequests()
        let w = r.write(), rd = r.read()
        #expect(w.type == .write && rd.type == .read)
        #expect(rd.requestID == w.requestID + 1)
        #expect(w.stringValues.first == "/local/domain/0/bench")
        #expect(Array(w.payload.suffix(16)) == XenStoreBench.value)
        #expect(rd.stringValues == ["/local/domain/0/bench"])
    }

    @Test func replyChecksRefuseErrorsAndForeignIDs() throws {
        var r = XenStoreBenchRequests()
        let w = r.write(), rd = r.read()
        try XenStoreBenchRequests.checkWriteReply(XenStoreMessage(.write, requestID: w.requestID, strings: ["OK"]), to: w)
        try XenStoreBenchRequests.checkReadReply(XenStoreMessage(.read, requestID: rd.requestID, payload: XenStoreBench.value), to: rd)
        #expect(throws: ToolstackError.self) {
            try XenStoreBenchRequests.checkWriteReply(XenStoreMessage(.error, requestID: w.requestID, strings: ["EACCES"]), to: w)
        }
        #expect(throws: ToolstackError.self) {
            try XenStoreBenchRequests.checkWriteReply(XenStoreMessage(.write, requestID: w.requestID + 5, strings: ["OK"]), to: w)
        }
        #expect(throws: ToolstackError.self) {
            try XenStoreBenchRequests.checkReadReply(XenStoreMessage(.read, requestID: rd.requestID, payload: Array("other".utf8)), to: rd)
        }
    }

    /// The client against xenstored's socket: replies by req_id, XS_ERROR returned as a reply,
    /// watch events in between skipped.
    @Test func socketClientTalksToTheRealServer() async throws {
        let store = XenStored()
        let path = "/tmp/petrel-xsbench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let server = try await XenStoreSocketServer.start(path: path, daemon: store)
        defer { unlink(path) }
        let client = try XenStoreSocketClient(path: path)
        var r = XenStoreBenchRequests()
        let w = r.write()
        try XenStoreBenchRequests.checkWriteReply(client.call(w), to: w)
        #expect(try store.read("/local/domain/0/bench") == XenStoreBench.value)

        let watch = XenStoreMessage(.watch, requestID: 900, strings: ["/local/domain/0/bench", "tok"])
        #expect(try client.call(watch).type == .watch)
        try store.write("/local/domain/0/bench", XenStoreBench.value)   // fires an event at the client
        let rd = r.read()
        try XenStoreBenchRequests.checkReadReply(client.call(rd), to: rd)

        let missing = try client.call(XenStoreMessage(.read, requestID: 901, strings: ["/no/such/node"]))
        #expect(missing.type == .error && missing.stringValues == ["ENOENT"])
        let rate = try XenStoreBench.socketRate(client, rounds: 50)
        #expect(rate.isFinite && rate > 0)
        client.close()
        try await server.stop()
    }

    @Test func socketClientReportsAMissingServer() {
        #expect(throws: ToolstackError.self) { try XenStoreSocketClient(path: "/tmp/petrel-no-such-socket-\(getpid())") }
    }
}
