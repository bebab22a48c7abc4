import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Ordered delivery per subject with the real binary and a real receiver, on SQLite and PostgreSQL.
@Suite("Ordering (real binary)", .serialized)
struct OrderingProcessTests {
    let secret = TestSigner.randomSecret()

    /// One event of the test: its id, subscription and `time`.
    struct Sample {
        let id: String
        let subscription: String
        let time: String

        var body: [UInt8] { SampleEvents.ofSubscription(id: id, subscription: subscription, time: time) }
    }

    /// `perSubject` events for each of `subjects` subscriptions, a second apart within a subject.
    static func samples(subjects: Int, perSubject: Int, prefix: String) -> [[Sample]] {
        (0..<subjects).map { subject in
            (0..<perSubject).map { index in
                Sample(
                    id: "evt_\(prefix)_\(subject)_\(index)", subscription: "sub_\(prefix)_\(subject)",
                    time: String(format: "2026-11-23T10:%02d:%02dZ", index / 60, index % 60))
            }
        }
    }

    func fixture(
        _ receiver: WebhookReceiver,
        backend: Backend = .sqlite,
        action: String = "",
        dispatch: String = "",
        extra: String = ""
    ) throws -> DaemonFixture {
        try DaemonFixture.httpBackend(
            receiver, action: "ordering = \"subject\"\n" + action, dispatch: dispatch, extra: extra,
            backend: backend)
    }

    /// The requests the receiver answered 2xx, as (subject, event id, arrival) in arrival order.
    static func delivered(_ receiver: WebhookReceiver, _ samples: [[Sample]]) -> [(Sample, Double)] {
        let byID = Dictionary(samples.flatMap { $0 }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return receiver.requests.filter { (200..<300).contains($0.status) }.compactMap { request in
            guard let id = byID.keys.first(where: { request.body.contains("\"\($0)\"") }), let sample = byID[id] else {
                return nil
            }
            return (sample, request.received ?? 0)
        }
    }

    /// Every subject's events reached the receiver in `time` order (a repeat of the same event, after a
    /// crash, may come right after itself).
    static func expectOrdered(_ delivered: [(Sample, Double)], _ samples: [[Sample]]) {
        for subject in samples {
            let order = subject.map(\.id)
            var received = delivered.map(\.0).filter { $0.subscription == subject[0].subscription }.map(\.id)
            received = received.enumerated().filter { $0.offset == 0 || received[$0.offset - 1] != $0.element }.map(
                \.element)
            #expect(received == order, "subject \(subject[0].subscription) received \(received)")
        }
    }

    /// One at a time within a subject: each request of a subject arrived after the previous one's answer
    /// (which the receiver holds `answerSeconds`). Returns every request as (subject, arrival), in
    /// arrival order.
    @discardableResult
    static func expectOneAtATime(
        _ receiver: WebhookReceiver,
        _ samples: [[Sample]],
        answerSeconds: Double
    ) -> [(String, Double)] {
        let all = receiver.requests.compactMap { request -> (String, Double)? in
            guard let sample = samples.flatMap({ $0 }).first(where: { request.body.contains("\"\($0.id)\"") }) else {
                return nil
            }
            return (sample.subscription, request.received ?? 0)
        }.sorted { $0.1 < $1.1 }
        for subject in samples.map({ $0[0].subscription }) {
            let times = all.filter { $0.0 == subject }.map(\.1)
            for (earlier, later) in zip(times, times.dropFirst()) {
                #expect(later - earlier >= answerSeconds * 0.9, "two requests of \(subject) overlapped")
            }
        }
        return all
    }

    func pause(_ fixture: DaemonFixture) async throws {
        #expect(try await fixture.cli(["actions", "pause", "backend"]).status == 0)
    }

    func resume(_ fixture: DaemonFixture) async throws {
        #expect(try await fixture.cli(["actions", "resume", "backend"]).status == 0)
    }

    @Test(
        "A slow, sometimes failing receiver gets every subject's events in time order; subjects go in parallel",
        arguments: Backend.allCases)
    func orderedUnderFailures(backend: Backend) async throws {
        let receiver = try WebhookReceiver(
            secret: secret, statuses: "200 503 200 200 503 200 503 503 200 200 200 503 200")
        try receiver.setDelay(milliseconds: 40)
        let fixture = try fixture(receiver, backend: backend, action: "reorder_window_ms = 0")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        let samples = Self.samples(subjects: 8, perSubject: 5, prefix: "o")
        // Each subject's events arrive shuffled; they are all stored before any goes (the action is paused
        // meanwhile, so that a loaded machine's slow posting cannot make one late).
        try await pause(fixture)
        var generator = SystemRandomNumberGenerator()
        for subject in samples {
            for sample in subject.shuffled(using: &generator) {
                #expect(try await fixture.post(sample.body, to: address) == 202)
            }
        }
        try await resume(fixture)
        try await eventuallyAsync(timeout: .seconds(60), "every delivery succeeded") {
            try await fixture.deliveries(DeliveryFilter(status: .succeeded, limit: 100))
                .count == 40
        }
        let delivered = Self.delivered(receiver, samples)
        #expect(delivered.count == 40)
        Self.expectOrdered(delivered, samples)
        #expect(receiver.requests.count > 40, "the receiver's failures were retried")
        let all = Self.expectOneAtATime(receiver, samples, answerSeconds: 0.04)
        let overlapping = zip(all, all.dropFirst()).contains { $0.0 != $1.0 && $1.1 - $0.1 < 0.035 }
        #expect(overlapping, "subjects did not go in parallel")
        #expect(receiver.requests.allSatisfy { $0.headers["gigs-relay-out-of-order"] == nil })
        try await daemon.stop()
    }

    @Test(
        "Events posted out of order within the window arrive sorted; a late one outside it arrives marked",
        arguments: Backend.allCases)
    func lateArrival(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: secret)
        let fixture = try fixture(receiver, backend: backend, action: "reorder_window_ms = 1500")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        let samples = Self.samples(subjects: 1, perSubject: 4, prefix: "late")[0]
        // Posted 2, 1 (sorted by the window), then 3 once they are delivered, then 0: too late.
        #expect(try await fixture.post(samples[2].body, to: address) == 202)
        #expect(try await fixture.post(samples[1].body, to: address) == 202)
        _ = try await receiver.waitForRequests(2)
        #expect(try await fixture.post(samples[3].body, to: address) == 202)
        _ = try await receiver.waitForRequests(3)
        #expect(try await fixture.post(samples[0].body, to: address) == 202)
        let requests = try await receiver.waitForRequests(4)
        let order = requests.map { request in samples.firstIndex { request.body.contains("\"\($0.id)\"") } ?? -1 }
        #expect(order == [1, 2, 3, 0])
        #expect(requests.map { $0.headers["gigs-relay-out-of-order"] } == [nil, nil, nil, "true"])
        try await eventuallyAsync("the late one succeeded") {
            try await fixture.deliveries(DeliveryFilter(status: .succeeded)).count == 4
        }
        let (status, listed) = try await fixture.cli(["deliveries", "list", "--subject", "sub_late_0", "--json"])
        #expect(status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
        #expect(rows.filter { $0["outOfOrder"] as? Bool == true }.map { $0["eventId"] as? String } == [samples[0].id])
        #expect(rows.allSatisfy { $0["subject"] as? String == "sub_late_0" })
        // Events are found by subject too, and listings walk by cursor.
        let (_, events) = try await fixture.cli(["events", "list", "--subject", "sub_late_0", "--json"])
        let found = try #require(try JSONSerialization.jsonObject(with: Data(events.utf8)) as? [[String: Any]])
        #expect(found.compactMap { $0["id"] as? String }.sorted() == samples.map(\.id).sorted())
        let (_, prefixed) = try await fixture.cli(["events", "list", "--id-prefix", samples[0].id, "--json"])
        #expect(prefixed.contains(#""id" : "\#(samples[0].id)""#), "\(prefixed)")
        let (_, page) = try await fixture.cli(["events", "list", "--limit", "3"])
        let hint = try #require(page.split(separator: "\n").last { $0.contains("more: --after") })
        let cursor = String(hint.split(separator: " ").last ?? "")
        let (_, next) = try await fixture.cli(["events", "list", "--after", cursor, "--json"])
        let rest = try #require(try JSONSerialization.jsonObject(with: Data(next.utf8)) as? [[String: Any]])
        #expect(rest.count == 1 && rest.first?["id"] as? String == samples[2].id)
        try await daemon.stop()
    }

    @Test(
        "A dead delivery blocks its subject (listed, counted, readiness) until deliveries skip; others go on",
        arguments: Backend.allCases)
    func deadBlocks(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: secret, statuses: "410 200")
        let fixture = try fixture(
            receiver, backend: backend, action: "reorder_window_ms = 0\nmax_concurrency = 1",
            extra: "[ready]\nmax_blocked_seconds = 1")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        let blocked = Self.samples(subjects: 1, perSubject: 3, prefix: "dead")[0]
        let other = Self.samples(subjects: 1, perSubject: 2, prefix: "free")[0]
        #expect(try await fixture.post(blocked[0].body, to: address) == 202)
        _ = try await receiver.waitForRequests(1)
        for sample in blocked.dropFirst() + other {
            #expect(try await fixture.post(sample.body, to: address) == 202)
        }
        // The other subject goes on; the blocked one waits.
        _ = try await receiver.waitForRequests(3)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(receiver.requests.count == 3)
        let (status, listed) = try await fixture.cli(["deliveries", "list", "--status", "blocked"])
        #expect(status == 0)
        let dead = try #require(
            try await fixture.deliveries(DeliveryFilter(status: .dead)).first)
        #expect(
            listed.split(separator: "\n").filter { $0.contains("blocked by \(dead.id) (dead)") }.count == 2, "\(listed)"
        )
        // `deliveries show` says so too, in text and JSON.
        let held = try #require(listed.split(separator: "\n").dropFirst().first?.split(separator: " ").first)
        let shown = try await fixture.cli(["deliveries", "show", String(held)])
        #expect(shown.output.contains("status:       blocked by \(dead.id) (dead)"), "\(shown.output)")
        let shownJSON = try await fixture.cli(["deliveries", "show", String(held), "--json"])
        #expect(shownJSON.output.contains(#""blockedBy" : "\#(dead.id)""#), "\(shownJSON.output)")
        try await eventuallyAsync("readiness names the blocked subject") {
            let ready = try await fixture.fetch("/readyz", from: address)
            return ready.status == 503 && ready.body.contains("held by a dead delivery")
        }
        #expect(try await fixture.fetch("/metrics", from: address).body.contains("gigs_relay_blocked_subjects 1"))
        let (skipped, output) = try await fixture.cli(["deliveries", "skip", dead.id.description])
        #expect(skipped == 0 && output.contains("skipped \(dead.id)"))
        _ = try await receiver.waitForRequests(5)
        let order = receiver.requests.suffix(2).map { request in
            blocked.firstIndex { request.body.contains("\"\($0.id)\"") } ?? -1
        }
        #expect(order == [1, 2])
        try await eventuallyAsync("ready again") { try await fixture.fetch("/readyz", from: address).status == 200 }
        try await daemon.stop()
    }

    @Test(
        "Ordering holds across SIGKILL and restart: an interrupted attempt repeats before the next event",
        arguments: Backend.allCases)
    func acrossKill(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: secret)
        try receiver.setDelay(milliseconds: 250)
        let fixture = try fixture(
            receiver, backend: backend, action: "reorder_window_ms = 0\ntimeout_seconds = 2",
            dispatch: "lease_seconds = 3")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        let samples = Self.samples(subjects: 3, perSubject: 4, prefix: "kill")
        try await pause(fixture)
        for subject in samples {
            for sample in subject.reversed() {
                #expect(try await fixture.post(sample.body, to: address) == 202)
            }
        }
        try await resume(fixture)
        _ = try await receiver.waitForRequests(4)
        daemon.signal(SIGKILL)
        _ = try await daemon.waitForExit()
        let (restarted, _) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        try await eventuallyAsync(timeout: .seconds(60), "every delivery succeeded") {
            try await fixture.deliveries(DeliveryFilter(status: .succeeded, limit: 100))
                .count == 12
        }
        Self.expectOrdered(Self.delivered(receiver, samples), samples)
        #expect(receiver.requests.count > 12, "no attempt was interrupted by the kill")
        try await restarted.stop()
    }

    @Test("On PostgreSQL, two instances keep each subject in order and one at a time")
    func twoInstancesOnPostgres() async throws {
        let receiver = try WebhookReceiver(secret: secret, statuses: "200 200 503 200")
        try receiver.setDelay(milliseconds: 30)
        let fixture = try fixture(receiver, backend: .postgresql, action: "reorder_window_ms = 0")
        defer { fixture.directory.remove() }
        async let first = fixture.start(environment: ["ACTION_SECRET": secret])
        async let second = fixture.start(environment: ["ACTION_SECRET": secret])
        let (one, oneAddress) = try await first
        let (two, twoAddress) = try await second
        let samples = Self.samples(subjects: 6, perSubject: 5, prefix: "pg")
        try await pause(fixture)
        var generator = SystemRandomNumberGenerator()
        for subject in samples {
            for (index, sample) in subject.shuffled(using: &generator).enumerated() {
                let address = index.isMultiple(of: 2) ? oneAddress : twoAddress
                #expect(try await fixture.post(sample.body, to: address) == 202)
            }
        }
        try await resume(fixture)
        try await eventuallyAsync(timeout: .seconds(60), "every delivery succeeded") {
            let (_, output) = try await fixture.cli(["deliveries", "list", "--status", "succeeded", "--limit", "100"])
            return output.split(separator: "\n").count == 31
        }
        let delivered = Self.delivered(receiver, samples)
        #expect(delivered.count == 30)
        Self.expectOrdered(delivered, samples)
        Self.expectOneAtATime(receiver, samples, answerSeconds: 0.03)
        try await one.stop()
        try await two.stop()
    }
}
