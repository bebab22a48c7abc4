import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A small SMTP submission client on SwiftNIO and NIOSSL: EHLO, STARTTLS (RFC 3207), AUTH PLAIN or
/// LOGIN (RFC 4954), then MAIL, RCPT and DATA with dot-stuffing (RFC 5321). One connection per message.
///
/// With `starttls = "required"` nothing but EHLO and STARTTLS is sent before TLS is up and the server's
/// certificate and name have been verified, so neither the password nor the message travels in plain
/// text. A 4xx reply is a ``SMTPError`` to retry, a 5xx reply one that will not pass.
struct SMTPClient: Sendable {
    private let settings: SMTPConfiguration
    private let password: Credential?
    private let tls: NIOSSLContext?
    private let heloName: String
    private let group: any EventLoopGroup

    /// - Parameter password: the resolved `smtp.password`, when `smtp.username` is set.
    init(
        settings: SMTPConfiguration,
        password: Credential?,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(ConfigurationError) {
        self.settings = settings
        self.password = password
        self.group = group
        self.heloName = settings.heloName ?? Self.defaultHeloName()
        guard settings.starttls == .required else {
            self.tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        do {
            self.tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigurationError(key: "smtp.ca_file", "cannot load the trusted certificates: \(error)")
        }
    }

    /// Submits `message` to every address in its `to`.
    func send(_ message: MailMessage) async throws(SMTPError) {
        do {
            try await submit(message)
        } catch let error as SMTPError {
            throw error
        } catch is CancellationError {
            throw SMTPError.connection("cancelled")
        } catch {
            throw SMTPError.connection(String(describing: error))
        }
    }

    private func submit(_ message: MailMessage) async throws {
        let boundary = StartTLSBoundary()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(SMTPReplyDecoder(boundary: boundary)))
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var session = Session(replies: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect([220], stage: "greeting")
            var ehlo = try await session.command("EHLO \(heloName)", expecting: [250], stage: "EHLO")
            if let tls {
                guard ehlo.extensions.contains("STARTTLS") else {
                    throw SMTPError.unsupported("does not offer STARTTLS, which smtp.starttls = \"required\" needs")
                }
                boundary.arm()
                try await session.command("STARTTLS", expecting: [220], stage: "STARTTLS")
                try await startTLS(on: channel.channel, context: tls, boundary: boundary)
                ehlo = try await session.command("EHLO \(heloName)", expecting: [250], stage: "EHLO after STARTTLS")
            }
            if let username = settings.username, let password {
                try await authenticate(&session, ehlo: ehlo, username: username, password: password)
            }
            try await session.command("MAIL FROM:<\(message.from.address)>", expecting: [250], stage: "MAIL FROM")
            for recipient in message.to {
                try await session.command("RCPT TO:<\(recipient.address)>", expecting: [250, 251], stage: "RCPT TO")
            }
            try await session.command("DATA", expecting: [354], stage: "DATA")
            try await session.write(Self.dotStuffed(message.rendered()) + Array(".\r\n".utf8))
            try await session.expect([250], stage: "message")
            // The message is accepted; a failing QUIT changes nothing.
            _ = try? await session.command("QUIT", expecting: [221], stage: "QUIT")
        }
    }

    /// Puts a TLS client handler in front of the pipeline and waits for the handshake, which verifies the
    /// certificate chain and the host name (or, for an IP address, the address). A failed handshake
    /// throws its own error (`CERTIFICATE_VERIFY_FAILED`, …), not a later write's.
    ///
    /// Any byte the server sent after its STARTTLS reply and before this point fails the attempt
    /// (``StartTLSBoundary``).
    private func startTLS(on channel: any Channel, context: NIOSSLContext, boundary: StartTLSBoundary) async throws {
        let host = settings.host
        let serverName: String? = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        try await channel.eventLoop.submit {
            try boundary.beginTLS()
            let tls = try NIOSSLClientHandler(context: context, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(tls, position: .first)
            try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake), position: .after(tls))
        }.get()
        try await handshake.futureResult.get()
    }

    /// AUTH PLAIN when offered, else AUTH LOGIN. The exchange is never part of an error message.
    private func authenticate(
        _ session: inout Session,
        ehlo: SMTPReply,
        username: String,
        password: Credential
    ) async throws {
        let mechanisms = Set(
            ehlo.extensions.filter { $0.hasPrefix("AUTH ") || $0.hasPrefix("AUTH=") }
                .flatMap { $0.dropFirst(5).split(separator: " ").map(String.init) }
        )
        func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        if mechanisms.contains("PLAIN") {
            let token = base64([0] + Array(username.utf8) + [0] + Array(password.revealed.utf8))
            try await session.command("AUTH PLAIN \(token)", expecting: [235], stage: "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try await session.command("AUTH LOGIN", expecting: [334], stage: "AUTH LOGIN")
            try await session.command(base64(Array(username.utf8)), expecting: [334], stage: "AUTH LOGIN")
            try await session.command(base64(Array(password.revealed.utf8)), expecting: [235], stage: "AUTH LOGIN")
        } else {
            throw SMTPError.unsupported("offers neither AUTH PLAIN nor AUTH LOGIN")
        }
    }

    /// A line that starts with "." gets a second one (RFC 5321 §4.5.2); the message must end in CRLF.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + 64)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { output.append(byte) }
            output.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if !atLineStart { output += Array("\r\n".utf8) }
        return output
    }

    /// The machine's host name when it is a plain DNS name, else `localhost`.
    private static func defaultHeloName() -> String {
        let name = ProcessInfo.processInfo.hostName
        let valid = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) }
        return valid ? name : "localhost"
    }
}

extension SMTPClient {
    /// One command/reply conversation over an open connection.
    private struct Session {
        var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

        mutating func expect(_ codes: Set<Int>, stage: String) async throws {
            _ = try await reply(expecting: codes, stage: stage)
        }

        @discardableResult
        mutating func command(_ line: String, expecting codes: Set<Int>, stage: String) async throws -> SMTPReply {
            try await write(Array((line + "\r\n").utf8))
            return try await reply(expecting: codes, stage: stage)
        }

        func write(_ bytes: [UInt8]) async throws {
            try await outbound.write(ByteBuffer(bytes: bytes))
        }

        private mutating func reply(expecting codes: Set<Int>, stage: String) async throws -> SMTPReply {
            guard let reply = try await replies.next() else {
                throw SMTPError.connection("the server closed the connection during \(stage)")
            }
            guard codes.contains(reply.code) else { throw SMTPError.rejected(stage, reply) }
            return reply
        }
    }
}

/// Completes a promise when the TLS handshake finishes, or fails it with the handshake's error, then
/// passes everything through.
private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var promise: EventLoopPromise<Void>?

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            promise?.succeed()
            promise = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.ioOnClosedChannel)
        promise = nil
        context.fireChannelInactive()
    }
}
