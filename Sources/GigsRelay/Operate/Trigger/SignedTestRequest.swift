import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A test event signed like Gigs signs deliveries (Standard Webhooks v1), ready to POST or print as curl.
public struct SignedTestRequest: Sendable {
    public let url: String
    /// `Content-Type` and the three `webhook-*` headers, in that order.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public init(event: TestEvent, secret: WebhookSecret, url: String, now: Date = Date()) {
        let body = event.body
        let id = TestEvent.id("msg")
        let timestamp = Int64(now.timeIntervalSince1970)
        self.url = url
        self.body = body
        self.headers = [
            ("Content-Type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", WebhookSigner(secret: secret).signature(id: id, timestamp: timestamp, body: body)),
        ]
    }

    /// The request as a curl command line, every part single-quoted for a POSIX shell.
    public var curl: String {
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
        var parts = ["curl", "-sS", "-X", "POST", quoted(url)]
        for header in headers { parts += ["-H", quoted("\(header.name): \(header.value)")] }
        parts += ["--data-binary", quoted(String(decoding: body, as: UTF8.self))]
        return parts.joined(separator: " ")
    }

    /// POSTs it; returns the status and the answer's body.
    public func send(timeout: Duration) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline = NIODeadline.now() + .milliseconds(timeout.wholeMilliseconds)
        let response = try await HTTPClient.shared.execute(request, deadline: deadline)
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: answer))
    }
}

extension RelayConfiguration {
    /// The webhook endpoint of this configuration's own listener (a wildcard address asked on loopback).
    public var webhookURL: String {
        LocalListener.url(address: server.listen.description, path: webhook.path)
    }
}
