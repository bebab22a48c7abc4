import Foundation
import GigsRelay
import Testing

/// Operator changes, listings, retention, stats and opening.
extension StoreConformance {
    /// Dead letters are listed and retried with a fresh budget; a dry run changes nothing
    static func retryDead(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_dead"), actions: ["a"])
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_fine"), actions: ["b"])
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

    /// Listings filter events by type, subject and time, deliveries by subject and time, and walk by cursor
    static func listings(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            let start = Date()
            for index in 0..<7 {
                let type =
                    index.isMultiple(of: 2) ? "com.gigs.subscription.updated" : "com.gigs.subscriptionChange.applied"
                let event = try Self.signer.verifiedEvent(
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

    /// Skip marks pending, failed and dead deliveries skipped, never running or finished ones; a dry run reads
    static func skip(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for id in ["evt_s1", "evt_s2", "evt_s3"] {
                _ = try await log.append(try Self.signer.verifiedEvent(id: id), actions: ["a"])
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

    /// A paused action's deliveries are not claimed and are named paused; resume claims them; summaries count
    static func pause(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_p1"), actions: ["a", "b"])
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_p2"), actions: ["a"])
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

    /// Replays create marked deliveries for stored events only, chosen by id or by type and time
    static func replay(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            let start = Date()
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_r1"), actions: [])
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_r2", type: "com.gigs.ping"), actions: [])
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

    /// Retention and prune remove only finished events (dead ones only when asked); a dry run counts
    static func prune(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for id in ["evt_done", "evt_skipped", "evt_dead", "evt_open", "evt_plain"] {
                _ = try await log.append(try Self.signer.verifiedEvent(id: id), actions: id == "evt_plain" ? [] : ["a"])
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

    /// Stats count events, unfinished and dead deliveries, and the probe write succeeds
    static func stats(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            var empty = StoreStats()
            empty.queuedActions = []
            #expect(try await log.stats(probeBytes: 65_536) == empty)
            let before = unixMilliseconds()
            for index in 0..<3 {
                _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_s\(index)"), actions: ["a", "b"])
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

    /// StoreLocation.open gives the daemon its log and a console that reads what the log wrote, its pool
    /// running while OpenedStore.runPool does
    static func openedTogether(_ backend: Backend) async throws {
        let (location, environment, cleanup) = try StoreUnderTest.location(backend)
        defer { cleanup() }
        let opened = try await location.open(environment: environment, logger: StoreUnderTest.logger)
        // As StoreService does in the daemon: the pool runs beside the store's use, until after close.
        let pool = Task { await opened.runPool() }
        _ = try await opened.log.append(try Self.signer.verifiedEvent(id: "evt_opened"), actions: ["a"])
        #expect(try await opened.console.event(id: EventID("evt_opened"))?.type == "com.gigs.subscription.activated")
        #expect(try await opened.console.deliveries(DeliveryFilter(action: "a")).count == 1)
        await opened.close()
        pool.cancel()
        await pool.value
        await #expect(throws: StoreError.self) {
            _ = try await opened.log.append(try Self.signer.verifiedEvent(id: "evt_after"), actions: [])
        }
    }

    /// A closed log refuses appends with store_closed
    static func closed(_ backend: Backend) async throws {
        let store = try await StoreUnderTest.make(backend)
        await store.log.close()
        await #expect(throws: StoreError.self) {
            _ = try await store.log.append(try Self.signer.verifiedEvent(id: "evt_late"), actions: [])
        }
    }
}
