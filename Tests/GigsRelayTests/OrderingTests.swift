import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// Ordered delivery per subject at the store, on both backends, and the pieces it is made of.
@Suite("Ordering (SQLite and PostgreSQL)")
struct OrderingTests {
    let signer = TestSigner()

    /// Appends an event of `subscription` at `time` with one ordered delivery to "a", due at once.
    func append(_ log: any EventLog, _ id: String, subscription: String, time: String) async throws {
        let event = try signer.verifiedEvent(
            id: id, body: SampleEvents.ofSubscription(id: id, subscription: subscription, time: time))
        _ = try await log.append(
            event, deliveries: [NewDelivery(action: "a", subject: subscription, dueAt: event.receivedAt)])
    }

    func claim(
        _ log: any EventLog,
        ordered: Bool = true,
        deadBlocks: Bool = true
    ) async throws -> [String] {
        let request = ClaimRequest(
            limit: 10,
            actions: ["a": ClaimRequest.Action(room: 10, maxAttempts: 5, ordered: ordered, deadBlocks: deadBlocks)],
            now: unixMilliseconds() + 1000, leaseMilliseconds: 60_000)
        return try await log.claim(request).jobs.map { "\($0.eventID)\($0.isOutOfOrder ? " late" : "")" }
    }

    func finish(
        _ log: any EventLog,
        _ console: any StoreConsole,
        _ event: String,
        _ outcome: AttemptOutcome
    ) async throws {
        let delivery = try #require(
            try await console.deliveries(DeliveryFilter(status: .running)).first { $0.eventID.rawValue == event })
        try await log.finish(
            AttemptRecord(
                delivery: delivery.id, attempt: delivery.attempts, startedAt: unixMilliseconds(),
                durationMilliseconds: 1, outcome: outcome))
    }

    @Test(
        "One at a time per subject in time order, then arrival order; subjects in parallel; a dead one holds its subject",
        arguments: Backend.allCases)
    func heads(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            try await append(log, "evt_s2", subscription: "sub_s", time: "2026-11-23T10:00:02Z")
            try await append(log, "evt_s1", subscription: "sub_s", time: "2026-11-23T10:00:01.500Z")
            try await append(log, "evt_s3", subscription: "sub_s", time: "2026-11-23T11:00:02+01:00")
            try await append(log, "evt_t1", subscription: "sub_t", time: "2026-11-23T09:00:00Z")
            let console = try await store.console()
            #expect(try await claim(log).sorted() == ["evt_s1", "evt_t1"])
            // Nothing of a subject starts while one of it runs.
            #expect(try await claim(log).isEmpty)
            try await finish(log, console, "evt_s1", .succeeded)
            #expect(try await claim(log) == ["evt_s2"])
            // A failed attempt keeps its place: the retry comes before the later events.
            try await finish(log, console, "evt_s2", .retry(error: "HTTP 503", nextAttemptAt: 0))
            // evt_s3 shares evt_s2's second (its offset puts it at 10:00:02Z); it arrived later.
            #expect(try await claim(log) == ["evt_s2"])
            try await finish(log, console, "evt_s2", .dead(error: "HTTP 410"))
            #expect(try await claim(log).isEmpty)
            let waiting = try #require(
                try await console.deliveries(DeliveryFilter(subject: "sub_s")).first { $0.eventID.rawValue == "evt_s3" }
            )
            let dead = try #require(try await console.deliveries(DeliveryFilter(status: .dead)).first)
            #expect(try await console.blockers(of: [waiting.id]) == [waiting.id: dead.id])
            #expect(try await log.blockedSubjects(actions: ["a"]).count == 1)
            #expect(try await log.blockedSubjects(actions: ["b"]) == BlockedSubjects())
            // on_dead = "continue": the next one goes.
            #expect(try await claim(log, deadBlocks: false) == ["evt_s3"])
            try await finish(log, console, "evt_s3", .succeeded)
            #expect(try await log.blockedSubjects(actions: ["a"]).count == 0)
            await console.close()
        }
    }

    @Test(
        "A skipped or retried dead delivery releases its subject; an unordered action ignores subjects",
        arguments: Backend.allCases)
    func release(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            try await append(log, "evt_r1", subscription: "sub_r", time: "2026-11-23T10:00:01Z")
            try await append(log, "evt_r2", subscription: "sub_r", time: "2026-11-23T10:00:02Z")
            let console = try await store.console()
            #expect(try await claim(log) == ["evt_r1"])
            try await finish(log, console, "evt_r1", .dead(error: "HTTP 410"))
            #expect(try await claim(log).isEmpty)
            let dead = try #require(try await console.deliveries(DeliveryFilter(status: .dead)).first)
            #expect(try await console.retry([dead.id], dryRun: false) == [dead.id])
            #expect(try await claim(log) == ["evt_r1"])
            try await finish(log, console, "evt_r1", .dead(error: "HTTP 410"))
            #expect(try await console.skip([dead.id], dryRun: false) == [dead.id])
            #expect(try await claim(log) == ["evt_r2"])

            try await append(log, "evt_u1", subscription: "sub_u", time: "2026-11-23T10:00:01Z")
            try await append(log, "evt_u2", subscription: "sub_u", time: "2026-11-23T10:00:02Z")
            #expect(try await claim(log, ordered: false).sorted() == ["evt_u1", "evt_u2"])
            await console.close()
        }
    }

    @Test(
        "Deliveries a dead one holds are parked, not read by every claim; a retry or skip makes them due again",
        arguments: Backend.allCases)
    func parking(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for index in 1...3 {
                try await append(log, "evt_k\(index)", subscription: "sub_k", time: "2026-11-23T10:00:0\(index)Z")
            }
            try await append(log, "evt_free", subscription: "sub_free", time: "2026-11-23T10:00:01Z")
            let console = try await store.console()
            #expect(try await claim(log).sorted() == ["evt_free", "evt_k1"])
            try await finish(log, console, "evt_k1", .dead(error: "HTTP 410"))
            let now = unixMilliseconds()
            var request = ClaimRequest(
                limit: 10, actions: ["a": ClaimRequest.Action(room: 10, maxAttempts: 5, ordered: true)],
                now: now + 1000, leaseMilliseconds: 60_000)
            request.parkBlockedUntil = now + 3_600_000
            #expect(try await log.claim(request).jobs.isEmpty)
            let held = try await console.deliveries(DeliveryFilter(status: .pending, subject: "sub_k"))
            #expect(held.count == 2)
            #expect(
                held.allSatisfy { ($0.nextAttemptAt?.timeIntervalSince1970 ?? 0) * 1000 >= Double(now + 3_599_000) })
            // The other subject is not touched.
            #expect(
                try await console.deliveries(DeliveryFilter(status: .running)).map(\.eventID.rawValue) == ["evt_free"])
            let dead = try #require(try await console.deliveries(DeliveryFilter(status: .dead)).first)
            #expect(try await console.skip([dead.id], dryRun: false) == [dead.id])
            let due = try await console.deliveries(DeliveryFilter(status: .pending, subject: "sub_k"))
            #expect(
                due.allSatisfy {
                    ($0.nextAttemptAt?.timeIntervalSince1970 ?? .infinity) * 1000 <= Double(unixMilliseconds())
                })
            #expect(try await claim(log) == ["evt_k2"])
            await console.close()
        }
    }

    @Test(
        "An event that arrives after a later one of its subject was delivered goes anyway, marked out of order",
        arguments: Backend.allCases)
    func late(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            try await append(log, "evt_l2", subscription: "sub_l", time: "2026-11-23T10:00:02Z")
            let console = try await store.console()
            #expect(try await claim(log) == ["evt_l2"])
            try await finish(log, console, "evt_l2", .succeeded)
            try await append(log, "evt_l1", subscription: "sub_l", time: "2026-11-23T10:00:01Z")
            try await append(log, "evt_l3", subscription: "sub_l", time: "2026-11-23T10:00:03Z")
            #expect(try await claim(log) == ["evt_l1 late"])
            let late = try #require(
                try await console.deliveries(DeliveryFilter(subject: "sub_l")).first { $0.eventID.rawValue == "evt_l1" }
            )
            #expect(late.isOutOfOrder && late.subject == "sub_l")
            try await finish(log, console, "evt_l1", .succeeded)
            #expect(try await claim(log) == ["evt_l3"])
            await console.close()
        }
    }

    /// The order time of an event with this `time`; nil when it falls back to the arrival time.
    func orderAt(_ time: String) throws -> Int64? {
        let event = try signer.verifiedEvent(
            id: "evt_t", body: SampleEvents.ofSubscription(id: "evt_t", subscription: "sub_t", time: time))
        return event.orderAt == event.receivedAt ? nil : event.orderAt
    }

    @Test("Event times are read to the millisecond, with offsets; anything else is refused, never trapped on")
    func eventTimes() throws {
        let settings = try TestConfigurations.execAction(
            #"ordering = "subject""#, then: "[[routes]]\nevents = [\"*\"]\nactions = [\"a\"]")
        let ordering = try #require(settings.actions["a"]?.ordering)
        #expect(ordering.reorderWindowMilliseconds == 2000 && ordering.deadBlocks)
        #expect(ordering.subject.map(\.description) == OrderingSettings.defaultSubject)
        let change = SampleEvents.ofSubscription(
            id: "evt_c", subscription: "sub_9", time: "2026-11-23T10:00:00Z",
            type: "com.gigs.subscriptionChange.applied")
        #expect(ordering.subject(in: change) == "sub_9")
        #expect(ordering.subject(in: SampleEvents.ofSubscription(id: "e", subscription: "sub_8", time: "x")) == "sub_8")
        #expect(ordering.subject(in: Array(#"{"data":{"id":null}}"#.utf8)) == nil)
        #expect(ordering.subject(in: Array(#"{"data":{"id":42}}"#.utf8)) == "42")
        let event = try signer.verifiedEvent(id: "evt_c", body: change)
        let deliveries = settings.routes.deliveries(for: event, settings: settings.actions)
        #expect(deliveries == [NewDelivery(action: "a", subject: "sub_9", dueAt: event.receivedAt + 2000)])
        // The default pointers take the envelope's subject; others read the payload. Both give the same
        // subject for a Gigs event, and a numeric id (which the envelope does not take) still has one.
        #expect(ordering.isDefaultSubject && ordering.subject(of: event) == event.subject && event.subject == "sub_9")
        let numeric = try signer.verifiedEvent(
            id: "evt_n", body: Array(#"{"id":"evt_n","type":"t","data":{"id":42}}"#.utf8))
        #expect(numeric.subject == nil && ordering.subject(of: numeric) == "42")
        let custom = try #require(
            try TestConfigurations.execAction("ordering = \"subject\"\nsubject = [\"/data/sim/id\"]").actions["a"]?
                .ordering)
        #expect(!custom.isDefaultSubject && custom.subject(of: event) != event.subject)
        #expect(event.orderAt == 1_795_428_000_000)
        for (text, expected) in [
            ("2026-11-23T10:00:00Z", Int64(1_795_428_000_000)),
            ("2026-11-23T10:00:00.1Z", 1_795_428_000_100),
            ("2026-11-23t10:00:00.123456789z", 1_795_428_000_123),
            ("2026-11-23T11:30:00+01:30", 1_795_428_000_000),
            ("2026-11-23T08:00:00-02:00", 1_795_428_000_000),
            ("1970-01-01T00:00:00Z", 0),
        ] {
            #expect(try orderAt(text) == expected, "\(text)")
        }
        for text in [
            "", "2026-11-23", "2026-11-23T10:00:00", "2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z",
            "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00+1:00", "2026-11-23T10:00:00Zjunk",
            "９９９９-11-23T10:00:00Z", String(repeating: "9", count: 100),
        ] {
            #expect(try orderAt(text) == nil, "\(text)")
        }
    }
}
