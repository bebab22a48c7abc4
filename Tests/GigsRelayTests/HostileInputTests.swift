import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import Testing

/// A corpus of hostile requests against the real binary: each gets the right status, nothing is stored,
/// the daemon keeps serving others, and its memory stays bounded.
@Suite("Hostile input (real binary)", .serialized)
struct HostileInputTests {
    /// The daemon's resident memory in kB.
    func residentKilobytes(_ daemon: RelayProcess) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(daemon.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Sends raw bytes on a fresh connection; returns the status code of the answer, or nil when the
    /// connection closed without one.
    func raw(_ request: String, to address: String) throws -> Int? {
        let connection = try RawHTTPConnection(address: address, receiveTimeout: .seconds(5))
        _ = connection.send(request)
        let answer = connection.readUntilClosed().text
        guard answer.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(answer.dropFirst(9).prefix(3))
    }

    @Test("Forged, malformed, oversized and deeply nested requests are refused; the daemon keeps serving")
    func corpus() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let event = SampleEvents.subscriptionActivated(id: "evt_hostile")
        let headers = fixture.signer.headers(body: event)
        func field(_ name: String) -> String { headers.first { $0.name.rawName == name }?.value ?? "" }
        let id = field("webhook-id")
        let timestamp = field("webhook-timestamp")
        let signature = field("webhook-signature")
        let body = String(decoding: event, as: UTF8.self)
        func post(_ headerLines: String, body: String = body, length: String? = nil) -> String {
            "POST /webhooks/gigs HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
                + (length ?? "Content-Length: \(body.utf8.count)\r\n") + headerLines + "Connection: close\r\n\r\n"
                + body
        }
        let signed = "webhook-id: \(id)\r\nwebhook-timestamp: \(timestamp)\r\n"
        let cases: [(String, String, Int?)] = [
            ("no signature headers", post(""), 401),
            ("signature missing", post(signed), 401),
            (
                "duplicated signature header",
                post(signed + "webhook-signature: \(signature)\r\nwebhook-signature: \(signature)\r\n"), 401
            ),
            ("garbage base64", post(signed + "webhook-signature: v1,!!!not-base64!!!\r\n"), 401),
            ("empty v1 entry", post(signed + "webhook-signature: v1,\r\n"), 401),
            (
                "timestamp far past",
                post("webhook-id: \(id)\r\nwebhook-timestamp: 1000000000\r\nwebhook-signature: \(signature)\r\n"), 401
            ),
            (
                "timestamp far future",
                post("webhook-id: \(id)\r\nwebhook-timestamp: 99999999999\r\nwebhook-signature: \(signature)\r\n"), 401
            ),
            (
                "timestamp not numeric",
                post("webhook-id: \(id)\r\nwebhook-timestamp: soon\r\nwebhook-signature: \(signature)\r\n"), 401
            ),
            (
                "tampered body",
                post(
                    signed + "webhook-signature: \(signature)\r\n",
                    body: body.replacingOccurrences(of: "Jane", with: "Mall")), 401
            ),
            (
                "100 MB declared",
                post(signed + "webhook-signature: \(signature)\r\n", body: "", length: "Content-Length: 104857600\r\n"),
                413
            ),
            (
                "header flood",
                "GET /healthz HTTP/1.1\r\nHost: relay\r\n" + (0..<3000).map { "X-Flood-\($0): y\r\n" }.joined()
                    + "\r\n", nil
            ),
            (
                "huge header",
                "GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n", nil
            ),
            ("not HTTP at all", "\u{0}\u{1}\u{2}GARBAGE\r\n\r\n", nil),
        ]
        for (name, request, expected) in cases {
            let status = try raw(request, to: address)
            if let expected {
                #expect(status == expected, "\(name): \(status.map(String.init) ?? "no answer")")
            } else {
                #expect(
                    status == nil || (400..<500).contains(status!), "\(name): \(status.map(String.init) ?? "no answer")"
                )
            }
        }

        // Signed bodies that verify but are not events.
        let signedCases: [(String, [UInt8], Int)] = [
            ("invalid UTF-8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D], 400),
            (
                "deeply nested JSON",
                Array((String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)).utf8), 400
            ),
            (
                "deeply nested object",
                Array(
                    (String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)).utf8),
                400
            ),
            ("valid JSON, not an event", Array(#"{"hello":"world"}"#.utf8), 400),
            ("an event without a type", Array(#"{"object":"event","id":"evt_x"}"#.utf8), 400),
            ("a JSON string", Array(#""evt_123""#.utf8), 400),
        ]
        for (name, bytes, expected) in signedCases {
            #expect(try await fixture.post(bytes, to: address) == expected, "\(name)")
        }

        // A chunked 100 MB body (no Content-Length) is cut off at the limit; memory stays flat.
        let before = residentKilobytes(daemon)
        let chunked = try RawHTTPConnection(address: address, receiveTimeout: .seconds(10))
        _ = chunked.send(
            "POST /webhooks/gigs HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                + signed + "webhook-signature: \(signature)\r\n\r\n")
        let chunk = String(repeating: "x", count: 65_536)
        var sent = 0
        while sent < 100 * 1_048_576, chunked.send("10000\r\n\(chunk)\r\n") { sent += 65_536 }
        let answer = chunked.readUntilClosed().text
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(80))")
        #expect(sent < 100 * 1_048_576, "the daemon read the whole 100 MB")
        #expect(residentKilobytes(daemon) - before < 64 * 1024, "memory grew by more than 64 MiB")

        // Still serving, and nothing of the above was stored.
        #expect(try await fixture.post(event, to: address) == 202)
        #expect(try EventLogReader(path: fixture.storePath).count() == 1)
        #expect(daemon.isRunning)
        try await daemon.stop()
    }
}
