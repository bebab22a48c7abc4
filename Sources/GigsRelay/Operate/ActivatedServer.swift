import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// Serves the HTTP application on a listening socket that systemd passed (socket activation,
/// `sd_listen_fds`), instead of binding `server.listen`: the same router, middleware, HTTP/1.1 channel
/// and channel handlers as the bound server.
///
/// Hummingbird can only bind an address, so this runs the accept loop itself: each accepted connection
/// is handled in a task of a discarding task group; at graceful shutdown the listener stops accepting
/// and every connection is asked to close after its current request (NIO's quiescing helper).
/// `server.max_connections` holds here as on the bound listener, through the same Hummingbird handler:
/// at the cap the listener stops accepting, and further connections wait in the kernel's backlog.
struct ActivatedServer: Service, CustomStringConvertible {
    let descriptor: CInt
    let responder: RouterResponder<RelayRequestContext>
    let http: HTTP1Channel.Configuration
    /// `server.max_connections`.
    let maxConnections: Int
    let logger: Logger
    let onServerRunning: @Sendable (String) async -> Void

    var description: String { "ActivatedServer(fd: \(descriptor))" }

    func run() async throws {
        let responder = self.responder
        let logger = self.logger
        let channelSetup = HTTP1Channel(
            responder: { request, writer, channel in
                let context = RelayRequestContext(source: .init(channel: channel, logger: logger))
                let response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch {
                    logger.debug("Unrecognised error", metadata: [LogKey.error: "\(error)"])
                    response = Response(status: .internalServerError)
                }
                try await writer.write(response: response.head, body: response.body)
            },
            configuration: http
        )
        let group = MultiThreadedEventLoopGroup.singleton
        let maxConnections = self.maxConnections
        let quiescing = ServerQuiescingHelper(group: group)
        let server = try await ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(
                        AvailableConnectionsChannelHandler(
                            delegate: MaximumAvailableConnections(maxConnections, logger: logger)))
                }
            }
            .bind(descriptor) { channel in channelSetup.setup(channel: channel, logger: logger) }
        await onServerRunning(describe(server.channel.localAddress))
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                await withDiscardingTaskGroup { tasks in
                    do {
                        for try await connection in connections {
                            tasks.addTask { await channelSetup.handle(value: connection, logger: logger) }
                        }
                    } catch {
                        logger.error("The activated listener failed", metadata: [LogKey.error: "\(error)"])
                    }
                }
            }
        } onGracefulShutdown: {
            quiescing.initiateShutdown(promise: nil)
        }
    }
}
