import Foundation
import GigsRelayTesting
import HTTPTypes
import Testing

@testable import GigsRelay

/// Slow and abusive clients against the real binary: they are cut off or refused, and others are served.
@Suite("Abusive clients (real binary)", .serialized)
struct AbuseProcessTests {
    @Test("A client dripping its headers is disconnected at header_timeout_seconds; others are served")
    func slowHeaders() async throws {
        let fixture = try DaemonFixture(serverTOML: "header_timeout_seconds = 1")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let slow = try RawHTTPConnection(address: address, receiveTimeout: .seconds(5))
        #expect(slow.send("POST /webhooks/gigs HTTP/1.1\r\nHost: relay\r\nX-Drip: "))
        let started = ContinuousClock.now
        // Another client is served while this one drips.
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(), to: address) == 202)
        var cutOff = false
        // Only the drip in the loop, so a slow answer to someone else never delays noticing the cut. The bound
        // is far below the default header timeout (10 s), with room for a loaded machine (the ThreadSanitizer
        // run beside the rest of the suite).
        while ContinuousClock.now - started < .seconds(9) {
            if !slow.send("a") {
                cutOff = true
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(cutOff)
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(), to: address) == 202)
        try await daemon.stop()
    }

    @Test("A body that stalls is cut off at body_timeout_seconds and nothing is stored")
    func slowBody() async throws {
        let fixture = try DaemonFixture(serverTOML: "body_timeout_seconds = 1")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let body = SampleEvents.subscriptionActivated(id: "evt_slow_body")
        let connection = try RawHTTPConnection(address: address, receiveTimeout: .seconds(5))
        var head = "POST /webhooks/gigs HTTP/1.1\r\nHost: relay\r\nContent-Length: \(body.count)\r\n"
        for field in fixture.signer.headers(body: body) { head += "\(field.name.rawName): \(field.value)\r\n" }
        #expect(connection.send(head + "\r\n"))
        #expect(connection.send(Array(body.prefix(20))))
        let started = ContinuousClock.now
        let answer = connection.readUntilClosed()
        #expect(answer.closed)
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(try EventLogReader(path: fixture.storePath).count() == 0)
        try await daemon.stop()
    }

    @Test("Past max_failed_verifications a client's forged requests get 429; its signed ones and others still pass")
    func failedVerificationLimit() async throws {
        let fixture = try DaemonFixture(
            serverTOML: """
                trusted_proxies = ["127.0.0.1/32"]
                max_failed_verifications = 3
                """)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let forger = TestSigner(secret: TestSigner.randomSecret())
        let attacker = ["X-Forwarded-For": "203.0.113.9, 198.51.100.7"]
        for _ in 0..<3 {
            #expect(
                try await fixture.post(
                    SampleEvents.subscriptionActivated(), to: address, signer: forger, headers: attacker)
                    == 401)
        }
        #expect(
            try await fixture.post(SampleEvents.subscriptionActivated(), to: address, signer: forger, headers: attacker)
                == 429)
        // Verify first, limit after: a correctly signed delivery from a blocked address goes through.
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(), to: address, headers: attacker) == 202)
        let other = ["X-Forwarded-For": "198.51.100.8"]
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(), to: address, headers: other) == 202)
        try await daemon.stop()
        // The rightmost address the trusted proxy did not vouch for is the client, not the leftmost one.
        #expect(daemon.log.contains("relay.client.address=198.51.100.7"))
        #expect(!daemon.log.contains("relay.client.address=203.0.113.9"))
        #expect(daemon.log.contains("too_many_failed_verifications"))
    }

    @Test("X-Forwarded-For from a peer that is not a trusted proxy is ignored")
    func untrustedForwardedFor() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let forger = TestSigner(secret: TestSigner.randomSecret())
        #expect(
            try await fixture.post(
                SampleEvents.subscriptionActivated(), to: address, signer: forger,
                headers: ["X-Forwarded-For": "198.51.100.7"]) == 401)
        try await daemon.stop()
        #expect(daemon.log.contains("relay.client.address=127.0.0.1"))
        #expect(!daemon.log.contains("198.51.100.7"))
    }

    @Test("Past max_body_bytes_in_flight a large request gets 503 with Retry-After before its body is read")
    func bodyBudget() async throws {
        let fixture = try DaemonFixture(
            serverTOML: """
                max_body_bytes = 65536
                max_body_bytes_in_flight = 131072
                """)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        /// A signed event padded to `size` bytes.
        func event(_ id: String, size: Int) -> [UInt8] {
            let prefix = #"{"object":"event","id":"\#(id)","type":"com.gigs.ping","pad":""#
            return Array((prefix + String(repeating: "p", count: size - prefix.utf8.count - 2) + #""}"#).utf8)
        }
        /// An upload of 60,000 bytes that stalls after its first bytes, holding that much of the budget.
        func stalledUpload(_ index: Int) throws -> RawHTTPConnection {
            let body = event("evt_stalled_\(index)", size: 60_000)
            let connection = try RawHTTPConnection(address: address)
            var head = "POST /webhooks/gigs HTTP/1.1\r\nHost: relay\r\nContent-Length: \(body.count)\r\n"
            for field in fixture.signer.headers(body: body) { head += "\(field.name.rawName): \(field.value)\r\n" }
            _ = connection.send(head + "\r\n")
            _ = connection.send(Array(body.prefix(100)))
            return connection
        }
        // Two stalled uploads hold 120,000 of 131,072. The probe sends only its head, so its answer comes
        // before any body and no unread bytes can turn a close into a reset that loses it. On a loaded
        // machine the server may see a probe before a stalled upload: then the probe holds budget while it
        // waits and an upload is refused instead. Such a probe is closed, a refused upload replaced, and
        // the probe sent again.
        var stalled = [try stalledUpload(0), try stalledUpload(1)]
        var uploads = 2
        let big = event("evt_big", size: 60_000)
        try await eventuallyAsync("the budget to be taken") {
            for index in stalled.indices where stalled[index].hasAnswered {
                stalled[index] = try stalledUpload(uploads)
                uploads += 1
            }
            try await Task.sleep(for: .milliseconds(100))
            let probe = try RawHTTPConnection(address: address, receiveTimeout: .seconds(1))
            var head = "POST /webhooks/gigs HTTP/1.1\r\nHost: relay\r\nContent-Length: \(big.count)\r\n"
            for field in fixture.signer.headers(body: big) { head += "\(field.name.rawName): \(field.value)\r\n" }
            guard probe.send(head + "\r\n") else { return false }
            let answer = probe.readResponseHead()
            return answer.hasPrefix("HTTP/1.1 503") && answer.lowercased().contains("retry-after: 1")
        }
        // A small event still fits; the big one does once the stalled uploads are gone.
        #expect(try await fixture.post(event("evt_small", size: 2_000), to: address) == 202)
        stalled.removeAll()
        try await eventuallyAsync("room again") {
            try await fixture.post(event("evt_big", size: 60_000), to: address) == 202
        }
        try await daemon.stop()
        #expect(daemon.log.contains("server_busy"))
    }

    @Test("At max_connections further connections wait until one closes")
    func connectionCap() async throws {
        let fixture = try DaemonFixture(serverTOML: "max_connections = 2")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        var idle = [try RawHTTPConnection(address: address), try RawHTTPConnection(address: address)]
        try await Task.sleep(for: .milliseconds(200))
        await #expect(throws: (any Error).self) {
            _ = try await fixture.post(SampleEvents.subscriptionActivated(), to: address, timeout: .seconds(1))
        }
        idle.removeAll()
        try await eventuallyAsync("a connection is accepted again") {
            try await fixture.post(SampleEvents.subscriptionActivated(), to: address, timeout: .seconds(2)) == 202
        }
        try await daemon.stop()
    }
}
