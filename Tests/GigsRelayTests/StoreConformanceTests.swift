import Foundation
import GigsRelay
import GigsRelayTesting
import Logging
import Testing

/// The two store backends the conformance suite runs on.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }
}

/// A fresh, empty store of one backend, opened as the daemon opens it (``log``) and as the CLI does
/// (``console()``). SQLite: a file in a temporary folder. PostgreSQL: a new database on the shared
/// throwaway cluster, reached over TCP with a password from a secret reference.
struct StoreUnderTest {
    let location: StoreLocation
    let environment: [String: String]
    let log: any EventLog
    private let cleanup: @Sendable () -> Void

    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static func make(
        _ backend: Backend,
        onDeliveriesCreated: @escaping @Sendable () -> Void = {}
    ) async throws -> StoreUnderTest {
        let (location, environment, cleanup) = try location(backend)
        let log = try await location.openLog(
            environment: environment, logger: logger, onDeliveriesCreated: onDeliveriesCreated)
        return StoreUnderTest(location: location, environment: environment, log: log, cleanup: cleanup)
    }

    /// A new empty location of `backend`, the environment its password comes from, and its removal.
    static func location(_ backend: Backend) throws -> (StoreLocation, [String: String], @Sendable () -> Void) {
        switch backend {
        case .sqlite:
            let directory = TemporaryDirectory()
            return (.sqlite(path: directory.file("events.sqlite3")), [:], { directory.remove() })
        case .postgresql:
            let cluster = try PostgresCluster.shared()
            let url = try PostgresURL(parsing: try cluster.createDatabase(), key: "store.url")
            let password = try SecretReference(parsing: "env:GIGS_TEST_PG_PASSWORD", key: "store.password")
            return (
                .postgres(url, password: password, poolSize: 8), ["GIGS_TEST_PG_PASSWORD": cluster.password], {}
            )
        }
    }

    func console() async throws -> any StoreConsole {
        try await location.openConsole(environment: environment, logger: Self.logger)
    }

    /// Opens a second log on the same store (PostgreSQL: a second instance).
    func openAnotherLog() async throws -> any EventLog {
        try await location.openLog(environment: environment, logger: Self.logger)
    }

    /// Runs `body` with the store, then closes and removes it.
    static func with(
        _ backend: Backend,
        _ body: (StoreUnderTest) async throws -> Void
    ) async throws {
        let store = try await make(backend)
        do {
            try await body(store)
        } catch {
            await store.log.close()
            store.cleanup()
            throw error
        }
        await store.log.close()
        store.cleanup()
    }
}

/// One suite, both backends: every promise of ``EventLog`` and ``StoreConsole`` (Store/EventLog.swift, Store/StoreConsole.swift).
@Suite("Store conformance (SQLite and PostgreSQL)")
struct StoreConformanceTests {
    let signer = TestSigner()

    static func claim(
        _ log: any EventLog,
        actions: [String] = ["a", "b"],
        limit: Int = 10,
        room: [String: Int] = [:],
        now: Int64,
        lease: Int64 = 60_000,
        maxAttempts: Int = 8
    ) async throws -> Claim {
        var settings: [String: ClaimRequest.Action] = [:]
        for name in actions {
            settings[name] = ClaimRequest.Action(room: room[name] ?? 100, maxAttempts: maxAttempts)
        }
        return try await log.claim(ClaimRequest(limit: limit, actions: settings, now: now, leaseMilliseconds: lease))
    }

    static func now() -> Int64 { unixMilliseconds() + 1000 }

    @Test(
        "An event is stored once with its fields and body; a duplicate is answered, no deliveries added",
        arguments: Backend.allCases)
    func appendOnce(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let event = try signer.verifiedEvent(id: "evt_once")
            #expect(try await store.log.append(event, actions: ["a", "b"]) == .accepted)
            #expect(try await store.log.append(event, actions: ["a", "b"]) == .duplicate)
            #expect(try await store.log.append(try signer.verifiedEvent(id: "evt_unrouted"), actions: []) == .accepted)
            let console = try await store.console()
            #expect(try await console.eventCount() == 2)
            let stored = try #require(try await console.event(id: EventID("evt_once")))
            #expect(stored.body == event.body)
            #expect(stored.type == event.type)
            #expect(stored.project == event.project)
            #expect(stored.time == event.time)
            #expect(stored.messageID == event.headers.id)
            #expect(stored.webhookTimestamp == event.timestamp)
            #expect(unixMilliseconds(stored.receivedAt) == event.receivedAt)
            #expect(try await console.event(id: EventID("evt_missing")) == nil)
            let listed = try await console.events(type: nil, limit: 10)
            #expect(listed.map(\.id.rawValue) == ["evt_unrouted", "evt_once"])
            #expect(listed.allSatisfy { $0.body.isEmpty })
            #expect(try await console.events(type: "com.gigs.other", limit: 10).isEmpty)
            let deliveries = try await console.deliveries(DeliveryFilter())
            #expect(deliveries.map(\.action).sorted() == ["a", "b"])
            #expect(deliveries.allSatisfy { $0.status == .pending && $0.attempts == 0 && !$0.isReplay })
            #expect(
                try await console.appliedMigrations() == [
                    "0001_create_events", "0002_create_deliveries", "0003_index_events_by_received_at",
                    "0004_create_store_probe", "0005_lease_expirations_and_due_by_action", "0006_create_action_state",
                    "0007_ordered_deliveries", "0008_event_subjects", "0009_event_id_prefix",
                ])
            await console.close()
        }
    }

    @Test(
        "Deliveries are found by their event's subject, whether or not their action orders by it",
        arguments: Backend.allCases)
    func deliveriesBySubject(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            for (id, subscription) in [("evt_u1", "sub_u"), ("evt_u2", "sub_v")] {
                let event = try signer.verifiedEvent(
                    id: id,
                    body: SampleEvents.ofSubscription(id: id, subscription: subscription, time: "2026-11-23T10:00:00Z"))
                _ = try await store.log.append(
                    event,
                    deliveries: [
                        NewDelivery(action: "unordered", dueAt: event.receivedAt),
                        NewDelivery(action: "ordered", subject: subscription, dueAt: event.receivedAt),
                    ])
            }
            let console = try await store.console()
            let found = try await console.deliveries(DeliveryFilter(subject: "sub_u"))
            #expect(found.map(\.action).sorted() == ["ordered", "unordered"])
            #expect(found.allSatisfy { $0.eventID.rawValue == "evt_u1" })
            #expect(try await console.deliveries(DeliveryFilter(subject: "sub_w")).isEmpty)
            await console.close()
        }
    }

    @Test(
        "Concurrent appends share commits; one id among many concurrent copies is accepted once",
        arguments: Backend.allCases)
    func concurrentAppends(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let same = try signer.verifiedEvent(id: "evt_same")
            let distinct = try (0..<60).map { try signer.verifiedEvent(id: "evt_\($0)") }
            let results = try await withThrowingTaskGroup(of: (String, AppendResult).self) { group in
                for _ in 0..<40 {
                    group.addTask { ("same", try await store.log.append(same, actions: ["a"])) }
                }
                for event in distinct {
                    group.addTask { (event.id.rawValue, try await store.log.append(event, actions: ["a"])) }
                }
                var results: [(String, AppendResult)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.filter { $0.0 == "same" && $0.1 == .accepted }.count == 1)
            #expect(results.filter { $0.0 != "same" }.allSatisfy { $0.1 == .accepted })
            let console = try await store.console()
            #expect(try await console.eventCount() == 61)
            #expect(try await console.deliveries(DeliveryFilter(limit: 1000)).count == 61)
            await console.close()
        }
    }

    @Test(
        "A claim marks due deliveries running under a lease; a finish moves them on, fenced by attempt",
        arguments: Backend.allCases)
    func claimAndFinish(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try signer.verifiedEvent(id: "evt_claim"), actions: ["a"])
            let now = Self.now()
            let first = try await Self.claim(log, now: now)
            let job = try #require(first.jobs.first)
            #expect(first.jobs.count == 1)
            #expect(job.attempt == 1 && job.action == "a" && job.eventID == EventID("evt_claim"))
            #expect(job.body == SampleEvents.body(id: "evt_claim", type: "com.gigs.subscription.activated"))
            #expect(first.nextDueAt == now + 60_000)  // the running delivery's lease end
            #expect(try await Self.claim(log, now: now).jobs.isEmpty)
            // A report for another attempt number changes nothing, and says so.
            let stale = try await log.finish(
                AttemptRecord(
                    delivery: job.id, attempt: 2, startedAt: now, durationMilliseconds: 1, outcome: .succeeded))
            #expect(!stale)
            let console = try await store.console()
            #expect(try await console.deliveries(DeliveryFilter(id: job.id)).first?.status == .running)
            let applied = try await log.finish(
                AttemptRecord(
                    delivery: job.id, attempt: 1, startedAt: now, durationMilliseconds: 12,
                    outcome: .retry(error: "HTTP 503", nextAttemptAt: now + 5000), output: "tail"))
            #expect(applied)
            let failed = try #require(try await console.deliveries(DeliveryFilter(id: job.id)).first)
            #expect(failed.status == .failed && failed.lastError == "HTTP 503" && failed.attempts == 1)
            #expect(try await Self.claim(log, now: now + 1000).jobs.isEmpty)  // not due yet
            let second = try #require(try await Self.claim(log, now: now + 5000).jobs.first)
            #expect(second.attempt == 2)
            try await log.finish(
                AttemptRecord(
                    delivery: job.id, attempt: 2, startedAt: now, durationMilliseconds: 3, outcome: .succeeded))
            #expect(try await console.deliveries(DeliveryFilter(id: job.id)).first?.status == .succeeded)
            let attempts = try await console.attempts(of: job.id)
            #expect(attempts.map(\.number) == [1, 2])
            #expect(attempts.map(\.outcome) == ["failed", "succeeded"])
            #expect(attempts.first?.error == "HTTP 503" && attempts.first?.output == "tail")
            #expect(attempts.first?.durationMilliseconds == 12)
            await console.close()
        }
    }

    @Test(
        "Claims take each action within its room, actions in turn, never unconfigured ones", arguments: Backend.allCases
    )
    func claimRoomAndTurns(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for index in 0..<6 {
                _ = try await log.append(try signer.verifiedEvent(id: "evt_a\(index)"), actions: ["a"])
            }
            _ = try await log.append(try signer.verifiedEvent(id: "evt_b"), actions: ["b"])
            _ = try await log.append(try signer.verifiedEvent(id: "evt_gone"), actions: ["removed"])
            let now = Self.now()
            let both = try await Self.claim(log, limit: 2, now: now)
            #expect(Set(both.jobs.map(\.action)) == ["a", "b"])  // a's backlog does not crowd b out
            // An action without room gets nothing.
            #expect(try await Self.claim(log, actions: ["a"], limit: 10, room: ["a": 0], now: now).jobs.isEmpty)
            let roomed = try await Self.claim(log, limit: 10, room: ["a": 2], now: now)
            #expect(roomed.jobs.count == 2 && roomed.jobs.allSatisfy { $0.action == "a" })
            let rest = try await Self.claim(log, actions: ["a", "b"], limit: 10, now: now)
            #expect(rest.jobs.count == 3)
            let console = try await store.console()
            let orphan = try await console.deliveries(DeliveryFilter(action: "removed"))
            #expect(orphan.map(\.status) == [.pending])
            let stats = try await log.stats(probeBytes: nil)
            #expect(stats.queuedActions.sorted() == ["a", "b", "removed"])
            await console.close()
        }
    }

    @Test(
        "An expired lease counts as an attempt, is recorded, and poisons a delivery on its last one",
        arguments: Backend.allCases)
    func leaseExpiry(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try signer.verifiedEvent(id: "evt_lease"), actions: ["a"])
            _ = try await log.append(try signer.verifiedEvent(id: "evt_poison"), actions: ["b"])
            let now = Self.now()
            let first = try await Self.claim(log, now: now, lease: 1000, maxAttempts: 2)
            #expect(first.jobs.count == 2)
            // The process died: the leases expire and the deliveries are claimed again, attempt 2.
            let second = try await Self.claim(log, now: now + 2000, lease: 1000, maxAttempts: 2)
            #expect(second.jobs.map(\.attempt) == [2, 2])
            let lateJob = try #require(first.jobs.first)
            // The first attempt's late report is fenced off.
            let late = try await log.finish(
                AttemptRecord(
                    delivery: lateJob.id, attempt: 1, startedAt: now, durationMilliseconds: 1, outcome: .succeeded))
            #expect(!late)
            let console = try await store.console()
            #expect(try await console.deliveries(DeliveryFilter(id: lateJob.id)).first?.status == .running)
            #expect(
                try await console.attempts(of: lateJob.id).map(\.error) == ["attempt did not finish: its lease expired"]
            )
            // The second attempt dies too: that was the last allowed one.
            let third = try await Self.claim(log, now: now + 4000, lease: 1000, maxAttempts: 2)
            #expect(third.jobs.isEmpty)
            #expect(third.poisoned.count == 2)
            for delivery in try await console.deliveries(DeliveryFilter()) {
                #expect(delivery.status == .dead)
                #expect(delivery.lastError == "attempt did not finish: lease expired 2 times (attempt 2 of 2)")
            }
            #expect(try await Self.claim(log, now: now + 10_000, maxAttempts: 2).jobs.isEmpty)
            #expect(try await console.attempts(of: lateJob.id).map(\.outcome) == ["failed", "dead"])
            // An operator's retry gives a poisoned delivery a fresh budget.
            #expect(try await console.retry([lateJob.id], dryRun: false) == [lateJob.id])
            let again = try await Self.claim(log, now: Self.now() + 10_000, maxAttempts: 2)
            #expect(again.jobs.map(\.attempt) == [1])
            await console.close()
        }
    }

    @Test("A released attempt goes back to pending without counting", arguments: Backend.allCases)
    func release(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try signer.verifiedEvent(id: "evt_release"), actions: ["a"])
            let now = Self.now()
            let job = try #require(try await Self.claim(log, now: now).jobs.first)
            let released = try await log.finish(
                AttemptRecord(delivery: job.id, attempt: 1, startedAt: now, durationMilliseconds: 1, outcome: .released)
            )
            #expect(released)
            // Released once: a second release of that attempt is fenced off.
            let again = try await log.finish(
                AttemptRecord(delivery: job.id, attempt: 1, startedAt: now, durationMilliseconds: 1, outcome: .released)
            )
            #expect(!again)
            let console = try await store.console()
            let delivery = try #require(try await console.deliveries(DeliveryFilter(id: job.id)).first)
            #expect(delivery.status == .pending && delivery.attempts == 0)
            #expect(try await console.attempts(of: job.id).isEmpty)
            #expect(try await Self.claim(log, now: Self.now()).jobs.first?.attempt == 1)
            await console.close()
        }
    }

    @Test(
        "Dead letters are listed and retried with a fresh budget; a dry run changes nothing",
        arguments: Backend.allCases)
    func retryDead(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try signer.verifiedEvent(id: "evt_dead"), actions: ["a"])
            _ = try await log.append(try signer.verifiedEvent(id: "evt_fine"), actions: ["b"])
            let now = Self.now()
            let jobs = try await Self.claim(log, now: now).jobs
            let dead = try #require(jobs.first { $0.action == "a" })
            let fine = try #require(jobs.first { $0.action == "b" })
            try await log.finish(
                AttemptRecord(
                    delivery: dead.id, attempt: 1, startedAt: now, durationMilliseconds: 1,
                    outcome: .dead(error: "HTTP 410")))
            try await log.finish(
                AttemptRecord(
                    delivery: fine.id, attempt: 1, startedAt: now, durationMilliseconds: 1, outcome: .succeeded))
            let console = try await store.console()
            #expect(try await console.deadDeliveries() == [dead.id])
            #expect(try await log.stats(probeBytes: nil).deadDeliveries == 1)
            #expect(try await console.retry([dead.id, fine.id, DeliveryID(999)], dryRun: true) == [dead.id])
            #expect(try await console.deliveries(DeliveryFilter(id: dead.id)).first?.status == .dead)
            #expect(try await console.retry([dead.id, fine.id], dryRun: false) == [dead.id])
            let retried = try #require(try await console.deliveries(DeliveryFilter(id: dead.id)).first)
            #expect(retried.status == .pending && retried.attempts == 0)
            #expect(try await console.deliveries(DeliveryFilter(status: .succeeded)).map(\.id) == [fine.id])
            #expect(try await Self.claim(log, now: Self.now()).jobs.map(\.id) == [dead.id])
            await console.close()
        }
    }

    @Test(
        "Listings filter events by type, subject and time, deliveries by subject and time, and walk by cursor",
        arguments: Backend.allCases)
    func listings(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            let start = Date()
            for index in 0..<7 {
                let type =
                    index.isMultiple(of: 2) ? "com.gigs.subscription.updated" : "com.gigs.subscriptionChange.applied"
                let event = try signer.verifiedEvent(
                    id: "evt_list_\(index)",
                    body: SampleEvents.ofSubscription(
                        id: "evt_list_\(index)", subscription: index < 4 ? "sub_a" : "sub_b",
                        time: "2026-11-23T10:00:0\(index)Z", type: type))
                #expect(event.subject == (index < 4 ? "sub_a" : "sub_b"))
                _ = try await log.append(event, actions: ["a"])
            }
            let console = try await store.console()
            // Newest first, three at a time, each page after the last one's sequence number.
            var pages: [[String]] = []
            var cursor: Int64?
            repeat {
                let page = try await console.events(EventFilter(before: cursor, limit: 3))
                pages.append(page.map(\.id.rawValue))
                cursor = page.count == 3 ? page.last?.sequence : nil
            } while cursor != nil
            #expect(pages.flatMap { $0 } == (0..<7).reversed().map { "evt_list_\($0)" })
            #expect(pages.map(\.count) == [3, 3, 1])
            let aboutA = try await console.events(EventFilter(subject: "sub_a", limit: 10))
            #expect(aboutA.map(\.id.rawValue) == ["evt_list_3", "evt_list_2", "evt_list_1", "evt_list_0"])
            #expect(aboutA.allSatisfy { $0.subject == "sub_a" })
            #expect(
                try await console.events(
                    EventFilter(type: "com.gigs.subscription.updated", subject: "sub_b", limit: 10)
                )
                .map(\.id.rawValue) == ["evt_list_6", "evt_list_4"])
            #expect(try await console.events(EventFilter(since: start.addingTimeInterval(60), limit: 10)).isEmpty)
            #expect(try await console.events(EventFilter(until: start.addingTimeInterval(-60), limit: 10)).isEmpty)
            #expect(try await console.events(EventFilter(since: start.addingTimeInterval(-60), limit: 10)).count == 7)
            #expect(try await console.event(id: EventID("evt_list_5"))?.subject == "sub_b")
            let deliveries = try await console.deliveries(DeliveryFilter(limit: 4))
            let rest = try await console.deliveries(DeliveryFilter(before: deliveries.last?.id, limit: 10))
            #expect(deliveries.count == 4 && rest.count == 3)
            #expect(Set((deliveries + rest).map(\.id)).count == 7)
            #expect(try await console.deliveries(DeliveryFilter(since: start.addingTimeInterval(60))).isEmpty)
            await console.close()
        }
    }

    @Test(
        "Skip marks pending, failed and dead deliveries skipped, never running or finished ones; a dry run reads",
        arguments: Backend.allCases)
    func skip(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for id in ["evt_s1", "evt_s2", "evt_s3"] {
                _ = try await log.append(try signer.verifiedEvent(id: id), actions: ["a"])
            }
            let now = Self.now()
            let jobs = try await Self.claim(log, limit: 2, now: now).jobs
            #expect(jobs.count == 2)
            try await log.finish(
                AttemptRecord(
                    delivery: jobs[0].id, attempt: 1, startedAt: now, durationMilliseconds: 1,
                    outcome: .dead(error: "HTTP 410")))
            let console = try await store.console()
            let all = try await console.deliveries(DeliveryFilter()).map(\.id)
            let pending = try #require(try await console.deliveries(DeliveryFilter(status: .pending)).first).id
            let running = jobs[1].id
            #expect(try await console.skip(all, dryRun: true).sorted() == [jobs[0].id, pending].sorted())
            #expect(try await console.deliveries(DeliveryFilter(id: pending)).first?.status == .pending)
            #expect(
                try await console.skip(all + [DeliveryID(999)], dryRun: false).sorted()
                    == [jobs[0].id, pending].sorted())
            #expect(try await console.deliveries(DeliveryFilter(status: .skipped)).count == 2)
            #expect(try await console.deliveries(DeliveryFilter(id: running)).first?.status == .running)
            #expect(try await console.skip([jobs[0].id], dryRun: false).isEmpty)
            #expect(try await Self.claim(log, now: Self.now()).jobs.isEmpty)
            await console.close()
        }
    }

    @Test(
        "A paused action's deliveries are not claimed and are named paused; resume claims them; summaries count",
        arguments: Backend.allCases)
    func pause(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try signer.verifiedEvent(id: "evt_p1"), actions: ["a", "b"])
            _ = try await log.append(try signer.verifiedEvent(id: "evt_p2"), actions: ["a"])
            let console = try await store.console()
            #expect(try await console.setPaused("a", true))
            #expect(try await !console.setPaused("a", true))
            let claim = try await Self.claim(log, now: Self.now())
            #expect(claim.jobs.map(\.action) == ["b"])
            #expect(claim.paused == ["a"])
            // The paused action's due deliveries do not make the dispatcher wake early.
            #expect(claim.nextDueAt.map { $0 > Self.now() } ?? true)
            try await log.finish(
                AttemptRecord(
                    delivery: claim.jobs[0].id, attempt: 1, startedAt: Self.now(), durationMilliseconds: 1,
                    outcome: .retry(error: "HTTP 503", nextAttemptAt: Self.now() + 60_000)))
            try await log.recordCircuit(CircuitChange(action: "b", state: .open, at: 1_000, error: "HTTP 503"))
            let summaries = try await console.actionSummaries()
            #expect(summaries.map(\.action) == ["a", "b"])
            let a = summaries[0]
            let b = summaries[1]
            #expect(a.isPaused && a.waiting == 2 && a.running == 0 && a.circuit == .closed)
            #expect(!b.isPaused && b.waiting == 1 && b.circuit == .open && b.circuitSince == 1_000)
            #expect(b.circuitError == "HTTP 503" && b.lastError == "HTTP 503")
            try await log.recordCircuit(CircuitChange(action: "b", state: .closed, at: 2_000, error: nil))
            #expect(try await console.actionSummaries()[1].circuit == .closed)
            #expect(try await console.setPaused("a", false))
            #expect(try await !console.setPaused("a", false))
            let resumed = try await Self.claim(log, now: Self.now())
            #expect(resumed.jobs.map(\.action) == ["a", "a"] && resumed.paused.isEmpty)
            #expect(try await console.actionSummaries()[0].running == 2)
            await console.close()
        }
    }

    @Test(
        "Replays create marked deliveries for stored events only, chosen by id or by type and time",
        arguments: Backend.allCases)
    func replay(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            let start = Date()
            _ = try await log.append(try signer.verifiedEvent(id: "evt_r1"), actions: [])
            _ = try await log.append(try signer.verifiedEvent(id: "evt_r2", type: "com.gigs.ping"), actions: [])
            let console = try await store.console()
            let byID = try await console.replayCandidates(ids: [
                EventID("evt_r2"), EventID("evt_none"), EventID("evt_r1"),
            ])
            #expect(byID.map(\.id.rawValue) == ["evt_r2", "evt_r1"])
            let byType = try await console.replayCandidates(
                type: "com.gigs.ping", since: start.addingTimeInterval(-60), until: nil)
            #expect(byType.map(\.id.rawValue) == ["evt_r2"])
            #expect(
                try await console.replayCandidates(
                    type: "com.gigs.ping", since: start.addingTimeInterval(-60), until: start.addingTimeInterval(-30)
                ).isEmpty)
            let plan =
                byID.map { ReplayStep(sequence: $0.sequence, action: "a") } + [
                    ReplayStep(sequence: 987_654, action: "a")
                ]
            let created = try await console.replay(plan)
            #expect(created.count == 3)
            #expect(created[0] != nil && created[1] != nil && created[2] == nil)
            let deliveries = try await console.deliveries(DeliveryFilter())
            #expect(deliveries.count == 2 && deliveries.allSatisfy { $0.isReplay && $0.status == .pending })
            let jobs = try await Self.claim(log, now: Self.now()).jobs
            #expect(jobs.count == 2 && jobs.allSatisfy(\.isReplay))
            #expect(jobs.allSatisfy { $0.idempotencyKey.contains(":replay-") })
            await console.close()
        }
    }

    @Test(
        "Retention and prune remove only finished events (dead ones only when asked); a dry run counts",
        arguments: Backend.allCases)
    func prune(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for id in ["evt_done", "evt_skipped", "evt_dead", "evt_open", "evt_plain"] {
                _ = try await log.append(try signer.verifiedEvent(id: id), actions: id == "evt_plain" ? [] : ["a"])
            }
            let now = Self.now()
            let jobs = try await Self.claim(log, now: now).jobs
            for job in jobs where job.eventID != EventID("evt_open") {
                try await log.finish(
                    AttemptRecord(
                        delivery: job.id, attempt: 1, startedAt: now, durationMilliseconds: 1,
                        outcome: job.eventID == EventID("evt_dead")
                            ? .dead(error: "gone")
                            : job.eventID == EventID("evt_skipped") ? .skipped(reason: "not_esim") : .succeeded))
            }
            let console = try await store.console()
            let later = unixMilliseconds() + 60_000
            #expect(try await console.prune(before: later, includeDead: false, dryRun: true) == 3)
            #expect(try await console.eventCount() == 5)
            #expect(try await log.prune(before: now - 60_000, limit: 500) == 0)  // none old enough
            // Retention, in batches: done, skipped and plain.
            #expect(try await log.prune(before: later, limit: 2) == 2)
            #expect(try await log.prune(before: later, limit: 2) == 1)
            #expect(try await console.prune(before: later, includeDead: false, dryRun: false) == 0)
            #expect(try await console.prune(before: later, includeDead: true, dryRun: false) == 1)
            let left = try await console.events(type: nil, limit: 10).map(\.id.rawValue)
            #expect(left == ["evt_open"])
            #expect(try await console.deliveries(DeliveryFilter()).count == 1)
            #expect(try await console.prune(before: 0, includeDead: true, dryRun: false) == 0)
            await console.close()
        }
    }

    @Test(
        "Stats count events, unfinished and dead deliveries, and the probe write succeeds", arguments: Backend.allCases)
    func stats(backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            var empty = StoreStats()
            empty.queuedActions = []
            #expect(try await log.stats(probeBytes: 65_536) == empty)
            let before = unixMilliseconds()
            for index in 0..<3 {
                _ = try await log.append(try signer.verifiedEvent(id: "evt_s\(index)"), actions: ["a", "b"])
            }
            let stats = try await log.stats(probeBytes: 1_048_576)
            #expect(stats.eventsReceived == 3)
            #expect(stats.pendingDeliveries == 6)
            #expect(stats.deadDeliveries == 0)
            #expect(stats.queuedActions == ["a", "b"])
            #expect((stats.oldestPendingCreatedAt ?? 0) >= before)
            #expect(log.health.writeFailure == nil)
        }
    }

    @Test(
        "StoreLocation.open gives the daemon its log and a console that reads what the log wrote",
        arguments: Backend.allCases)
    func openedTogether(backend: Backend) async throws {
        let (location, environment, cleanup) = try StoreUnderTest.location(backend)
        defer { cleanup() }
        let opened = try await location.open(environment: environment, logger: StoreUnderTest.logger)
        _ = try await opened.log.append(try signer.verifiedEvent(id: "evt_opened"), actions: ["a"])
        #expect(try await opened.console.event(id: EventID("evt_opened"))?.type == "com.gigs.subscription.activated")
        #expect(try await opened.console.deliveries(DeliveryFilter(action: "a")).count == 1)
        await opened.close()
        await #expect(throws: StoreError.self) {
            _ = try await opened.log.append(try signer.verifiedEvent(id: "evt_after"), actions: [])
        }
    }

    @Test("A closed log refuses appends with store_closed", arguments: Backend.allCases)
    func closed(backend: Backend) async throws {
        let store = try await StoreUnderTest.make(backend)
        await store.log.close()
        await #expect(throws: StoreError.self) {
            _ = try await store.log.append(try signer.verifiedEvent(id: "evt_late"), actions: [])
        }
    }
}
