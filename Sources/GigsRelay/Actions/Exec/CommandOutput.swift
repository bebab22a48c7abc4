import CRelayPosix
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(System)
    import System
    typealias CommandFileDescriptor = System.FileDescriptor
#else
    import SystemPackage
    typealias CommandFileDescriptor = SystemPackage.FileDescriptor
#endif

/// The pipe a command writes its output to, read on a NIO event loop into a bounded ``OutputTail``.
///
/// However much the command prints, only the tail is kept; reading never blocks a thread; and the
/// reader can be stopped at any time (``finish(grace:)``), so a pipe held open by a background child
/// cannot hold up the attempt.
final class CommandOutput: Sendable {
    /// The end handed to the command as its standard output and error.
    let writeEnd: CommandFileDescriptor
    private let writeEndOpen = NIOLockedValueBox(true)
    private let channel: any Channel
    private let tail: OutputTail

    private init(writeEnd: CommandFileDescriptor, channel: any Channel, tail: OutputTail) {
        self.writeEnd = writeEnd
        self.channel = channel
        self.tail = tail
    }

    /// A new close-on-exec pipe whose read end is read into a tail of `limit` bytes.
    static func open(limit: Int) async throws -> CommandOutput {
        var ends: [Int32] = [-1, -1]
        guard relay_pipe_cloexec(&ends) == 0 else { throw Errno(rawValue: errno) }
        let tail = OutputTail(limit: limit)
        let channel: any Channel
        do {
            channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(TailCollector(tail: tail))
                    }
                }
                .takingOwnershipOfDescriptor(input: ends[0])
                .get()
        } catch {
            _ = Glibc.close(ends[0])
            _ = Glibc.close(ends[1])
            throw error
        }
        return CommandOutput(writeEnd: CommandFileDescriptor(rawValue: ends[1]), channel: channel, tail: tail)
    }

    /// Closes the daemon's copy of the write end (once the child has its own, or spawning failed).
    func closeWriteEnd() {
        writeEndOpen.withLockedValue { open in
            guard open else { return }
            open = false
            try? writeEnd.close()
        }
    }

    /// Waits up to `grace` for the end of the output, stops reading, and returns the tail as text.
    @discardableResult
    func finish(grace: Duration) async -> String? {
        let closed = channel.closeFuture
        if grace > .zero {
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(grace)) {
                self.channel.close(promise: nil)
            }
            closed.whenComplete { _ in timer.cancel() }
        } else {
            channel.close(promise: nil)
        }
        try? await closed.get()
        return tail.text
    }
}

/// Appends everything read from the pipe to the tail.
private final class TailCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let tail: OutputTail

    init(tail: OutputTail) {
        self.tail = tail
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { tail.append($0) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
