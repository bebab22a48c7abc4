import Foundation
import GigsRelay
import GigsRelayTesting
import Logging
import Testing

/// The outbox in the store: deliveries written with events, claims, leases and finishes.
@Suite("Delivery store")
struct DeliveryStoreTests {
    let directory = TemporaryDirectory()
    let signer = TestSigner()
    var path: String { directory.file("events.sqlite3") }

    func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let store = try SQLiteStore(path: path, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// The actions these tests route to, each with room for every delivery unless `room` says otherwise.
    static let actions = ["a", "b", "slow", "fast"]

    func claim(
        _ store: SQLiteStore,
        limit: Int = 10,
        room: [String: Int] = [:],
        now: Int64,
        lease: Int64 = 60_000,
        maxAttempts: Int = 8
    ) async throws -> Claim {
        var actions: [String: ClaimRequest.Action] = [:]
        for name in Self.actions {
            actions[name] = ClaimRequest.Action(room: room[name] ?? 100, maxAttempts: maxAttempts)
        }
        return try await store.claim(
            ClaimRequest(limit: limit, actions: actions, now: now, leaseMilliseconds: lease))
    }

    @Test("A new event gets one pending delivery per action in its transaction; a duplicate gets none")
    func deliveriesWithEvents() async throws {
        defer { directory.remove() }
        let wakeups = Locked(0)
        let store = try SQLiteStore(path: path, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) {
            wakeups.withLock { $0 += 1 }
        }
        let event = try signer.verifiedEvent(id: "evt_outbox")
        #expect(try await store.append(event, actions: ["a", "b"]) == .accepted)
        #expect(try await store.append(event, actions: ["a", "b"]) == .duplicate)
        _ = try await store.append(try signer.verifiedEvent(id: "evt_unrouted"), actions: [])
        await store.close()
        let deliveries = try EventLogReader(path: path).deliveries(DeliveryFilter())
        #expect(deliveries.map(\.action).sorted() == ["a", "b"])
        #expect(
            deliveries.allSatisfy { $0.status == .pending && $0.eventID == EventID("evt_outbox") && $0.attempts == 0 })
        #expect(wakeups.value == 1)  // only the commit that created deliveries wakes the dispatcher
    }

    @Test("Claims take due deliveries oldest first, within the limit and each action's room")
    func claimLimits() async throws {
        defer { directory.remove() }
        try await withStore { store in
            for index in 0..<3 {
                _ = try await store.append(try signer.verifiedEvent(id: "evt_\(index)"), actions: ["slow", "fast"])
            }
            let now = unixNow() + 1000
            let first = try await claim(store, limit: 4, room: ["slow": 1], now: now)
            #expect(first.jobs.count == 4)
            #expect(first.jobs.filter { $0.action == "slow" }.count == 1)
            #expect(first.jobs.allSatisfy { $0.attempt == 1 })
            #expect(first.jobs.first?.body == SampleEvents.body(id: "evt_0", type: "com.gigs.subscription.activated"))
            // The rest is due now; nothing more may run for "slow".
            let second = try await claim(store, limit: 4, room: ["slow": 0], now: now)
            #expect(second.jobs.isEmpty)
            #expect(second.nextDueAt.map { $0 <= now } == true)
            let third = try await claim(store, limit: 4, now: now)
            #expect(third.jobs.count == 2)
            #expect(third.jobs.allSatisfy { $0.action == "slow" })
        }
    }

    @Test("A finished attempt moves the delivery on; a late report after a lost lease is ignored")
    func finishing() async throws {
        defer { directory.remove() }
        try await withStore { store in
            _ = try await store.append(try signer.verifiedEvent(id: "evt_f"), actions: ["a"])
            let now = unixNow() + 1000
            let job = try #require(try await claim(store, now: now, lease: 1000).jobs.first)
            try await store.finish(
                AttemptRecord(
                    delivery: job.id,
                    attempt: job.attempt,
                    startedAt: now,
                    durationMilliseconds: 5,
                    outcome: .retry(error: "HTTP 503", nextAttemptAt: now + 500)
                )
            )
            #expect(try await claim(store, now: now + 499).jobs.isEmpty)
            let retry = try #require(try await claim(store, now: now + 500, lease: 1000).jobs.first)
            #expect(retry.attempt == 2)
            // The lease runs out; the delivery is claimed again (attempt 3) before attempt 2 reports.
            let reclaimed = try #require(try await claim(store, now: now + 1600).jobs.first)
            #expect(reclaimed.attempt == 3)
            try await store.finish(
                AttemptRecord(
                    delivery: job.id, attempt: 2, startedAt: now, durationMilliseconds: 1, outcome: .succeeded)
            )
            try await store.finish(
                AttemptRecord(
                    delivery: job.id, attempt: 3, startedAt: now, durationMilliseconds: 1,
                    outcome: .dead(error: "HTTP 400"))
            )
        }
        let reader = try EventLogReader(path: path)
        let delivery = try #require(try reader.deliveries(DeliveryFilter()).first)
        #expect(delivery.status == .dead)
        #expect(delivery.lastError == "HTTP 400")
        let attempts = try reader.attempts(of: delivery.id)
        #expect(attempts.map(\.number) == [1, 2, 3])
        #expect(attempts.map(\.outcome) == ["failed", "failed", "dead"])
        #expect(attempts[1].error?.contains("lease expired") == true)
    }

    @Test("A delivery whose attempts never finish is dead after max_attempts expired leases, not claimed forever")
    func poisonedDelivery() async throws {
        defer { directory.remove() }
        var now = unixNow() + 1000
        try await withStore { store in
            _ = try await store.append(try signer.verifiedEvent(id: "evt_poison"), actions: ["a"])
            // Three attempts start and none reports: the process died each time.
            for attempt in 1...3 {
                let job = try #require(try await claim(store, now: now, lease: 1000, maxAttempts: 3).jobs.first)
                #expect(job.attempt == attempt)
                now += 1001
            }
            let last = try await claim(store, now: now, lease: 1000, maxAttempts: 3)
            #expect(last.jobs.isEmpty)
            #expect(last.poisoned.map(\.eventID) == [EventID("evt_poison")])
            #expect(try await claim(store, now: now + 100_000, maxAttempts: 3).jobs.isEmpty)
        }
        let reader = try EventLogReader(path: path)
        let delivery = try #require(try reader.deliveries(DeliveryFilter()).first)
        #expect(delivery.status == .dead)
        #expect(delivery.attempts == 3)
        #expect(delivery.lastError == "attempt did not finish: lease expired 3 times (attempt 3 of 3)")
        let attempts = try reader.attempts(of: delivery.id)
        #expect(attempts.map(\.outcome) == ["failed", "failed", "dead"])
        // An operator's retry gives it a fresh budget.
        #expect(try StoreMaintenance(path: path).retry([delivery.id]) == [delivery.id])
        try await withStore { store in
            let again = try await claim(store, now: unixNow() + 1000, maxAttempts: 3)
            #expect(again.jobs.first?.attempt == 1)
        }
    }

    @Test("Claims share the workers among actions in turn, and leave deliveries of unlisted actions alone")
    func fairAndUnlisted() async throws {
        defer { directory.remove() }
        try await withStore { store in
            for index in 0..<6 {
                _ = try await store.append(try signer.verifiedEvent(id: "evt_slow_\(index)"), actions: ["slow"])
            }
            _ = try await store.append(try signer.verifiedEvent(id: "evt_fast"), actions: ["fast"])
            _ = try await store.append(try signer.verifiedEvent(id: "evt_gone"), actions: ["removed"])
            let now = unixNow() + 1000
            // The fast action's one delivery is newer than six slow ones, yet gets one of two workers.
            let first = try await claim(store, limit: 2, now: now)
            #expect(Set(first.jobs.map(\.action)) == ["slow", "fast"])
            let rest = try await claim(store, limit: 10, now: now)
            #expect(rest.jobs.count == 5 && rest.jobs.allSatisfy { $0.action == "slow" })
            #expect(try await claim(store, limit: 10, now: now + 1_000_000).jobs.allSatisfy { $0.action != "removed" })
        }
        let removed = try EventLogReader(path: path).deliveries(DeliveryFilter(action: "removed"))
        #expect(removed.map(\.status) == [.pending])
    }

    @Test("A released attempt goes back to pending without counting")
    func releasing() async throws {
        defer { directory.remove() }
        try await withStore { store in
            _ = try await store.append(try signer.verifiedEvent(id: "evt_r"), actions: ["a"])
            let now = unixNow() + 1000
            let job = try #require(try await claim(store, now: now).jobs.first)
            try await store.finish(
                AttemptRecord(
                    delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 1, outcome: .released)
            )
            let again = try #require(try await claim(store, now: unixNow() + 1000).jobs.first)
            #expect(again.attempt == 1)
        }
    }

    @Test("Pruning removes old events whose deliveries all succeeded or were skipped, and nothing else")
    func pruning() async throws {
        defer { directory.remove() }
        try await withStore { store in
            for id in ["evt_done", "evt_skipped", "evt_dead", "evt_pending", "evt_unrouted"] {
                _ = try await store.append(try signer.verifiedEvent(id: id), actions: id == "evt_unrouted" ? [] : ["a"])
            }
            let now = unixNow() + 1000
            let jobs = try await claim(store, now: now).jobs
            for job in jobs {
                let outcome: AttemptOutcome? =
                    switch job.eventID.rawValue {
                    case "evt_done": .succeeded
                    case "evt_skipped": .skipped(reason: "not_esim")
                    case "evt_dead": .dead(error: "HTTP 400")
                    default: nil
                    }
                guard let outcome else { continue }
                try await store.finish(
                    AttemptRecord(
                        delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 1,
                        outcome: outcome, output: nil))
            }
            #expect(try await store.prune(before: now - 60_000, limit: 500) == 0)  // none old enough
            #expect(try await store.prune(before: now + 1000, limit: 2) == 2)
            #expect(try await store.prune(before: now + 1000, limit: 2) == 1)
            #expect(try await store.prune(before: now + 1000, limit: 2) == 0)
        }
        let reader = try EventLogReader(path: path)
        #expect(Set(try reader.list(limit: 10).map(\.id.rawValue)) == ["evt_dead", "evt_pending"])
        #expect(try reader.deliveries(DeliveryFilter()).count == 2)
        let maintenance = try StoreMaintenance(path: path)
        let cutoff = unixNow() + 1000
        #expect(try maintenance.prune(before: cutoff, includeDead: false, dryRun: false) == 0)
        #expect(try maintenance.prune(before: cutoff, includeDead: true, dryRun: true) == 1)
        #expect(try reader.count() == 2)
        #expect(try maintenance.prune(before: cutoff, includeDead: true, dryRun: false) == 1)
        #expect(try reader.list(limit: 10).map(\.id.rawValue) == ["evt_pending"])
    }

    func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
