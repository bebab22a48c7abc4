import Foundation
import GigsRelayTesting
import NIOCore
import NIOEmbedded
import Testing

@testable import GigsRelay

/// Numbers, replies and bytes from peers (downstream servers, the Gigs API, SMTP servers) are parsed with
/// bounds: nothing a peer sends can trap the daemon or stretch a delay past the configured limits.
@Suite("Peer input")
struct PeerInputTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    @Test("Retry-After: seconds, HTTP dates past and future, negative, huge and garbage never trap and stay bounded")
    func retryAfter() {
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("99999999999999999", now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse(String(repeating: "9", count: 70), now: now) == nil)  // longer than any header
        #expect(RetryAfter.parse(String(repeating: "9", count: 40), now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse("-5", now: now) == nil)
        #expect(RetryAfter.parse("1.5", now: now) == nil)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse("", now: now) == nil)
        #expect(RetryAfter.parse("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now: now) == .zero)
        // Invalid UTF-8 the fuzzer found (Tests/Fuzz/crashes/crash-c4174ccd…): Foundation's DateFormatter
        // trapped on it.
        let fuzzed = String(decoding: [0x90, 0x0D, 0x0A, 0x20, 0xDD, 0x84], as: UTF8.self)
        #expect(RetryAfter.parse(fuzzed, now: now) == nil)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT\u{301}", now: now) == nil)
        let future = Date(timeInterval: 90, since: now)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(RetryAfter.parse(formatter.string(from: future), now: now) == .seconds(90))
    }

    @Test("Backoff honours a peer's Retry-After only up to backoff_max_ms, whatever its size")
    func backoffCapsRetryAfter() {
        let policy = RetryPolicy()
        let huge = RetryAfter.parse("99999999999999999", now: now)
        let delay = policy.delay(afterAttempt: 1, retryAfter: huge, jitter: 0)
        #expect(delay == .milliseconds(policy.backoffMaxMilliseconds))
        // Durations far beyond Int64 milliseconds saturate instead of trapping.
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeMilliseconds == .min)
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(Int64.max), jitter: 1) <= .seconds(3600))
        #expect(Int64.max.saturatingAdd(1) == .max)
    }

    @Test("SMTP: a byte after the STARTTLS 220 and before TLS is refused, in the same packet or a later one")
    func startTLSInjection() throws {
        let samePacket = StartTLSBoundary()
        let first = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(boundary: samePacket)))
        samePacket.arm()
        #expect(throws: (any Error).self) {
            try first.writeInbound(ByteBuffer(string: "220 go ahead\r\n250 ok\r\n"))
        }
        #expect(try first.readInbound(as: SMTPReply.self) == nil)
        #expect(throws: (any Error).self) { try samePacket.beginTLS() }

        let laterPacket = StartTLSBoundary()
        let second = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(boundary: laterPacket)))
        laterPacket.arm()
        try second.writeInbound(ByteBuffer(string: "220 go ahead\r\n"))
        #expect(try second.readInbound(as: SMTPReply.self)?.code == 220)
        #expect(throws: (any Error).self) { try second.writeInbound(ByteBuffer(string: "250 ok\r\n")) }
        #expect(throws: (any Error).self) { try laterPacket.beginTLS() }

        // A clean upgrade, and a refused STARTTLS that leaves the conversation in plain text.
        let clean = StartTLSBoundary()
        let third = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(boundary: clean)))
        clean.arm()
        try third.writeInbound(ByteBuffer(string: "220 go ahead\r\n"))
        try clean.beginTLS()
        let refused = StartTLSBoundary()
        let fourth = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(boundary: refused)))
        refused.arm()
        try fourth.writeInbound(ByteBuffer(string: "454 not now\r\n250 ok\r\n"))
        #expect(try fourth.readInbound(as: SMTPReply.self)?.code == 454)
        #expect(try fourth.readInbound(as: SMTPReply.self)?.code == 250)
    }

    @Test("SMTP: reply codes outside 200-599, megabyte lines and endless continuations are refused")
    func smtpReplyBounds() throws {
        for text in ["999 nope\r\n", "099 nope\r\n", "2x0 nope\r\n", "250"] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
            if text.hasSuffix("\n") {
                #expect(throws: (any Error).self) { try channel.writeInbound(ByteBuffer(string: text)) }
            }
        }
        let long = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        #expect(throws: (any Error).self) {
            try long.writeInbound(ByteBuffer(string: "220 " + String(repeating: "a", count: 1 << 20) + "\r\n"))
        }
        let endless = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        #expect(throws: (any Error).self) {
            try endless.writeInbound(ByteBuffer(string: String(repeating: "250-more\r\n", count: 200)))
        }
    }

    @Test("The failed-verification limiter stays bounded and, when full, keeps its blocks longest")
    func limiterBounds() {
        let limiter = FailedVerificationLimiter(limit: 2, windowSeconds: 600)
        let start: Int64 = 1_000_000
        limiter.recordFailure("blocked", now: start)
        limiter.recordFailure("blocked", now: start)
        #expect(limiter.blockedFor("blocked", now: start + 1) != nil)
        // A flood of new addresses, each failing once, fills and overflows the map.
        for index in 0..<(FailedVerificationLimiter.maximumClients * 2) {
            limiter.recordFailure("flood-\(index)", now: start + 2)
        }
        #expect(limiter.trackedClients <= FailedVerificationLimiter.maximumClients)
        #expect(limiter.blockedFor("blocked", now: start + 3) != nil)
    }
}
