import Foundation
import GigsRelay
import Testing

/// Appends, claims, finishes, leases and releases.
extension StoreConformance {
    /// Reconciliation's stand-ins through the console; the append of the genuine webhook afterwards.
    static func standIns(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let console = try await store.console()
            let type = "com.gigs.subscription.activated"
            let data = try #require(JSONValue(parsing: Array(#"{"object":"subscription","id":"sub_si"}"#.utf8)))
            let standIn = try #require(
                StandIn.event(
                    type: type, resource: "sub_si", time: "2026-11-23T10:00:00Z", reason: "test", data: data,
                    project: "dev-project", madeAt: unixMilliseconds()))
            let deliveries = [NewDelivery(action: "a", dueAt: standIn.receivedAt)]
            #expect(try await console.appendStandIns([(standIn, deliveries)]) == [true])
            #expect(try await console.appendStandIns([(standIn, deliveries)]) == [false])
            let stored = try #require(try await console.event(id: standIn.id))
            #expect(stored.subject == "sub_si")
            #expect(stored.body == standIn.body)
            #expect(try await console.deliveries(DeliveryFilter(eventID: standIn.id)).map(\.status) == [.pending])

            // Gigs' webhook for the same activation, late: stored, no deliveries.
            let late = try Self.signer.verifiedEvent(
                id: "evt_late",
                body: SampleEvents.ofSubscription(
                    id: "evt_late", subscription: "sub_si", time: "2026-11-23T10:00:00Z", type: type))
            #expect(late.standIn == standIn.id)
            #expect(
                try await store.log.append(late, deliveries: [NewDelivery(action: "a", dueAt: late.receivedAt)])
                    == .accepted)
            #expect(try await console.event(id: late.id) != nil)
            #expect(try await console.deliveries(DeliveryFilter(eventID: late.id)).isEmpty)
            // Another subscription's webhook is dispatched as ever.
            let other = try Self.signer.verifiedEvent(
                id: "evt_other",
                body: SampleEvents.ofSubscription(
                    id: "evt_other", subscription: "sub_other", time: "2026-11-23T10:00:00Z", type: type))
            _ = try await store.log.append(other, deliveries: [NewDelivery(action: "a", dueAt: other.receivedAt)])
            #expect(try await console.deliveries(DeliveryFilter(eventID: other.id)).count == 1)

            // The other way round: a stand-in whose genuine event was stored after the run looked is not
            // stored (the race of a late webhook with --emit); another change of the same subscription is no
            // reason to leave out a change's stand-in.
            func standInFor(_ type: String, _ resource: String, _ json: String) throws -> VerifiedEvent {
                let data = try #require(JSONValue(parsing: Array(json.utf8)))
                return try #require(
                    StandIn.event(
                        type: type, resource: resource, time: "2026-11-23T10:00:00Z", reason: "test", data: data,
                        project: "dev-project", madeAt: unixMilliseconds()))
            }
            let raced = try standInFor(type, "sub_other", #"{"object":"subscription","id":"sub_other"}"#)
            let change = "com.gigs.subscriptionChange.applied"
            let genuineChange = try Self.signer.verifiedEvent(
                id: "evt_change",
                body: SampleEvents.ofSubscription(
                    id: "c1", subscription: "sub_other", time: "2026-11-23T10:00:00Z", type: change))
            _ = try await store.log.append(genuineChange, deliveries: [])
            let changed = try standInFor(
                change, "sch_c1", #"{"object":"subscriptionChange","id":"sch_c1","subscription":"sub_other"}"#)
            let otherChange = try standInFor(
                change, "sch_c2", #"{"object":"subscriptionChange","id":"sch_c2","subscription":"sub_other"}"#)
            #expect(
                try await console.appendStandIns([
                    (raced, deliveries), (changed, deliveries), (otherChange, deliveries),
                ])
                    == [false, false, true])
            #expect(try await console.event(id: raced.id) == nil)
            #expect(try await console.event(id: otherChange.id)?.subject == "sub_other")
            await console.close()
        }
    }

    /// An event is stored once with its fields and body; a duplicate is answered, no deliveries added
    static func appendOnce(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let event = try Self.signer.verifiedEvent(id: "evt_once")
            #expect(try await store.log.append(event, actions: ["a", "b"]) == .accepted)
            #expect(try await store.log.append(event, actions: ["a", "b"]) == .duplicate)
            #expect(
                try await store.log.append(try Self.signer.verifiedEvent(id: "evt_unrouted"), actions: []) == .accepted)
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
            #expect(try await console.appliedMigrations() == Self.migrations)
            await console.close()
        }
    }

    /// Deliveries are found by their event's subject, whether or not their action orders by it
    static func deliveriesBySubject(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            for (id, subscription) in [("evt_u1", "sub_u"), ("evt_u2", "sub_v")] {
                let event = try Self.signer.verifiedEvent(
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

    /// Concurrent appends share commits; one id among many concurrent copies is accepted once
    static func concurrentAppends(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let same = try Self.signer.verifiedEvent(id: "evt_same")
            let distinct = try (0..<60).map { try Self.signer.verifiedEvent(id: "evt_\($0)") }
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

    /// A claim marks due deliveries running under a lease; a finish moves them on, fenced by attempt
    static func claimAndFinish(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_claim"), actions: ["a"])
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

    /// Claims take each action within its room, actions in turn, never unconfigured ones
    static func claimRoomAndTurns(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            for index in 0..<6 {
                _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_a\(index)"), actions: ["a"])
            }
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_b"), actions: ["b"])
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_gone"), actions: ["removed"])
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

    /// A new delivery the dispatcher offered room for is stored running and handed over, fenced like a
    /// claim's
    static func handOff(_ backend: Backend) async throws {
        let handOff = DeliveryHandOff()
        try await StoreUnderTest.with(backend, handOff: handOff) { store in
            handOff.offer(["a": 1], total: 1, leaseMilliseconds: 30_000, replenishable: [])
            let event = try Self.signer.verifiedEvent(id: "evt_handed")
            #expect(try await store.log.append(event, actions: ["a", "b"]) == .accepted)
            let jobs = handOff.takeJobs()
            #expect(jobs.count == 1)
            let job = try #require(jobs.first)
            #expect(job.action == "a" && job.attempt == 1 && job.eventID == event.id && job.body == event.body)
            #expect(await handOff.wakeup.wait(timeout: .zero) == .claim, "b's delivery is pending: a claim finds it")
            // The room is used: the next one waits for a claim, and so does a duplicate's.
            #expect(
                try await store.log.append(try Self.signer.verifiedEvent(id: "evt_queued"), actions: ["a"]) == .accepted
            )
            handOff.offer(["a": 1], total: 1, leaseMilliseconds: 30_000, replenishable: [])
            #expect(try await store.log.append(event, actions: ["a", "b"]) == .duplicate)
            #expect(handOff.takeJobs().isEmpty)

            let console = try await store.console()
            let handed = try #require(try await console.deliveries(DeliveryFilter()).first { $0.id == job.id })
            #expect(handed.status == .running && handed.attempts == 1)
            let now = Self.now()
            let claimed = try await Self.claim(store.log, now: now).jobs
            #expect(claimed.count == 2)
            #expect(!claimed.contains { $0.id == job.id }, "its lease holds it")
            // Its lease expires unfinished: the attempt counts, and its late result is fenced off.
            let later = try await Self.claim(store.log, now: now + 60_000).jobs
            #expect(later.first { $0.id == job.id }?.attempt == 2)
            let late = AttemptRecord(
                delivery: job.id, attempt: 1, startedAt: now, durationMilliseconds: 1, outcome: .succeeded)
            #expect(try await store.log.finish(late) == false)

            // An action paused since the offer is not leased.
            #expect(try await console.setPaused("a", true))
            handOff.offer(["a": 5], total: 5, leaseMilliseconds: 30_000, replenishable: [])
            #expect(
                try await store.log.append(try Self.signer.verifiedEvent(id: "evt_paused"), actions: ["a"]) == .accepted
            )
            #expect(handOff.takeJobs().isEmpty)
            let paused = try await console.deliveries(DeliveryFilter()).filter { $0.eventID.rawValue == "evt_paused" }
            #expect(paused.map(\.status) == [.pending])
            await console.close()
        }
    }

    /// An expired lease counts as an attempt, is recorded, and poisons a delivery on its last one
    static func leaseExpiry(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_lease"), actions: ["a"])
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_poison"), actions: ["b"])
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

    /// A released attempt goes back to pending without counting
    static func release(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let log = store.log
            _ = try await log.append(try Self.signer.verifiedEvent(id: "evt_release"), actions: ["a"])
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
}

extension StoreConformance {
    /// Reconciliation runs start once under the lock, whoever asks at once; finished ones are listed, bounded
    static func reconcileRuns(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            let first = try await store.console()
            let second = try await store.console()
            #expect(try await first.reconcileRuns(limit: 10).isEmpty)
            let schedule = ReconcileSchedule(interval: 3_600_000, retry: 15_000, abandonedAfter: 1_800_000)
            let now = Self.now()
            // Two instances asking at once: one starts, the other sees its run (or the lock) and does not.
            async let a = first.startReconcileRun(
                .schedule, instance: "a", when: { schedule.isDue(after: $0, now: now) })
            async let b = second.startReconcileRun(
                .schedule, instance: "b", when: { schedule.isDue(after: $0, now: now) })
            let started = try await [a, b].compactMap { $0 }
            #expect(started.count == 1)
            let run = try #require(started.first)
            // A command's run is recorded beside it and does not count for the schedule.
            let command = try #require(
                try await first.startReconcileRun(.command, instance: "cli", when: { _ in true }))
            let seen = Locked<ReconcileRun?>(nil)
            #expect(
                try await first.startReconcileRun(
                    .schedule, instance: "a",
                    when: { last in
                        seen.withLock { $0 = last }
                        return false
                    }) == nil)
            #expect(seen.value?.id == run && seen.value?.trigger == .schedule && seen.value?.state == "running")

            var result = Reconciliation(since: "2026-12-01T00:00:00.000Z")
            result.resourcesRead = 400
            result.expected = 160
            result.found = 10
            result.apiErrors = 2
            result.missing = (0..<150).map {
                Reconciliation.Missing(
                    resource: "sub_\($0)", type: "com.gigs.subscription.activated", time: "2026-12-01T10:00:00.000Z",
                    reason: "subscription sub_\($0) is active", data: .object(["id": .string("sub_\($0)")]))
            }
            try await second.finishReconcileRun(run, result: result)
            let runs = try await first.reconcileRuns(limit: 10)
            #expect(runs.map(\.id) == [command, run])
            let finished = try #require(runs.last)
            #expect(["a", "b"].contains(finished.instance))
            #expect(finished.state == "complete" && finished.finishedAt != nil && finished.missingCount == 150)
            #expect(finished.result?.missing.count == ReconcileRun.listedMissing)
            #expect(finished.result?.missing.first?.resource == "sub_0" && finished.result?.missing.first?.data == nil)
            #expect(finished.result?.resourcesRead == 400 && finished.result?.apiErrors == 2)
            #expect(runs.first?.state == "running" && runs.first?.trigger == .command)
            // Within the interval of a complete run nothing is due; after it, the next starts.
            let later = unixMilliseconds() + 3_600_000
            #expect(
                try await first.startReconcileRun(
                    .schedule, instance: "a", when: { schedule.isDue(after: $0, now: now + 60_000) }) == nil)
            #expect(
                try await first.startReconcileRun(
                    .schedule, instance: "a", when: { schedule.isDue(after: $0, now: later) }) != nil)
            await first.close()
            await second.close()
        }
    }
}
