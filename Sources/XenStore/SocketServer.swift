public import NIOCore
import NIOPosix

/// xenstored's unix socket (Xen: `/var/run/xenstored/socket`), on SwiftNIO: one connection per
/// client, each privileged as dom0, as Xen's socket is. Debian's `xenstore-*` tools reach it with
/// `XENSTORED_PATH=<path>` (libxenstore stats that path and connects if it is a socket).
///
/// A client that announces a payload over `XENSTORE_PAYLOAD_MAX` is disconnected, as Xen does.
///
/// Locking: the server object is immutable after `start`; requests are processed under
/// `XenStored`'s lock from the channel's event loop, and replies are written through the event
/// loop in the order they were produced.
public final class XenStoreSocketServer: Sendable {
    public let path: String
    private let channel: any Channel

    private init(path: String, channel: any Channel) {
        self.path = path
        self.channel = channel
    }

    /// Binds `path` (replacing a stale socket file) and starts serving `daemon`.
    public static func start(path: String, daemon: XenStored,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        async throws -> XenStoreSocketServer
    {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(XenStoreMessageDecoder()))
                    try channel.pipeline.syncOperations.addHandler(XenStoreSocketHandler(daemon: daemon))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        daemon.logger.info("xenstored: listening on \(path)")
        return XenStoreSocketServer(path: path, channel: channel)
    }

    /// Stops listening; open client connections are closed with the event loop group or by
    /// their clients.
    public func stop() async throws {
        try await channel.close().get()
    }
}

/// Frames the byte stream into messages; an oversized header is a protocol violation.
struct XenStoreMessageDecoder: ByteToMessageDecoder {
    typealias InboundOut = XenStoreMessage

    struct Oversized: Error { let length: UInt32 }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= XenStoreMessage.headerSize,
              let header = buffer.getBytes(at: buffer.readerIndex, length: XenStoreMessage.headerSize)
        else { return .needMoreData }
        let h = XenStoreMessage.decodeHeader(header)
        guard h.length <= UInt32(XenStoreLimits.payloadMax) else { throw Oversized(length: h.length) }
        guard buffer.readableBytes >= XenStoreMessage.headerSize + Int(h.length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: XenStoreMessage.headerSize)
        let payload = buffer.readBytes(length: Int(h.length)) ?? []
        context.fireChannelRead(wrapInboundOut(XenStoreMessage(rawType: h.rawType, requestID: h.requestID,
                                                               transactionID: h.transactionID, payload: payload)))
        return .continue
    }
}

/// One socket client: a privileged dom0 connection of the daemon.
final class XenStoreSocketHandler: ChannelInboundHandler {
    typealias InboundIn = XenStoreMessage

    private let daemon: XenStored
    private var connection: XenStoreClientConnection?

    init(daemon: XenStored) { self.daemon = daemon }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        connection = daemon.connect(as: .control) { message in
            // Called under the daemon's lock: hop to the event loop, which keeps the order.
            let bytes = message.encoded
            channel.eventLoop.execute {
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection?.send(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.close()
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? XenStoreMessageDecoder.Oversized {
            daemon.logger.warning("xenstored: socket client sent a \(e.length)-byte payload; disconnecting")
        }
        connection?.close()
        connection = nil
        context.close(promise: nil)
    }
}
