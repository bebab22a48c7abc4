import GigsRelay
import Testing

/// The row-copy contract (``StoreRows``, what `gigs-relay store copy` relies on).
extension StoreConformance {
    /// Rows read back as written with their ids; inserting them again changes nothing; a delivery is
    /// replaced only by a newer `updated_at`; ids made after ``StoreRows/reserveIDs(above:)`` come above
    static func rowCopy(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { source in
            try await StoreUnderTest.with(backend) { destination in
                try await checkRowCopy(from: source, to: destination)
            }
        }
    }

    private static func checkRowCopy(from source: StoreUnderTest, to destination: StoreUnderTest) async throws {
        // Source rows of every kind: an ordered delivery with a subject, a finished attempt, a failed one.
        let now = Self.now()
        _ = try await source.log.append(try signer.verifiedEvent(id: "evt_row_1"), actions: ["a", "b"])
        _ = try await source.log.append(try signer.verifiedEvent(id: "evt_row_2"), actions: [])
        let claim = try await Self.claim(source.log, now: now)
        for (index, job) in claim.jobs.enumerated() {
            let outcome: AttemptOutcome =
                index == 0 ? .succeeded : .retry(error: "HTTP 503", nextAttemptAt: now + 5000)
            _ = try await source.log.finish(
                AttemptRecord(
                    delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 12, outcome: outcome,
                    output: index == 0 ? "ok" : nil))
        }
        let from = try await source.location.openRows(
            environment: source.environment, logger: StoreUnderTest.logger, create: false)
        let to = try await destination.location.openRows(
            environment: destination.environment, logger: StoreUnderTest.logger, create: false)
        let events = try await from.events(after: 0, limit: 100)
        let deliveries = try await from.deliveries(after: 0, limit: 100)
        let attempts = try await from.attempts(after: 0, limit: 100)
        #expect(events.count == 2 && deliveries.count == 2 && attempts.count == 2)
        #expect(try await from.events(after: events[0].sequence, limit: 100) == Array(events.dropFirst()))
        #expect(try await from.events(ids: [events[1].sequence, 999_999]) == [events[1]])

        try await to.insert(events: events)
        try await to.upsert(deliveries: deliveries)
        try await to.insert(attempts: attempts)
        #expect(try await to.events(after: 0, limit: 100) == events)
        #expect(try await to.deliveries(after: 0, limit: 100) == deliveries)
        #expect(try await to.attempts(after: 0, limit: 100) == attempts)
        #expect(
            try await to.eventSequences(eventIDs: ["evt_row_1", "evt_missing"]) == ["evt_row_1": events[0].sequence])

        // Again: nothing is added or changed.
        try await to.insert(events: events)
        try await to.upsert(deliveries: deliveries)
        try await to.insert(attempts: attempts)
        #expect(try await to.events(after: 0, limit: 100) == events)
        #expect(try await to.attempts(after: 0, limit: 100) == attempts)

        // A newer source row replaces the copy; an older one does not.
        var newer = deliveries[1]
        newer.status = DeliveryStatus.dead.rawValue
        newer.updatedAt += 1
        var older = deliveries[0]
        older.status = DeliveryStatus.pending.rawValue
        older.updatedAt -= 1
        try await to.upsert(deliveries: [older, newer])
        #expect(try await to.deliveries(ids: [deliveries[0].id, deliveries[1].id]) == [deliveries[0], newer])

        // Rows the destination makes after the copy get ids above the copied ones (PostgreSQL's identity
        // sequences would otherwise start at 1 and collide).
        let highest = StoreCopy.HighestIDs(
            events: events.map(\.sequence).max() ?? 0, deliveries: deliveries.map(\.id).max() ?? 0,
            attempts: attempts.map(\.id).max() ?? 0)
        try await to.reserveIDs(above: highest)
        _ = try await destination.log.append(try signer.verifiedEvent(id: "evt_row_3"), actions: ["a"])
        let added = try await to.events(after: events[1].sequence, limit: 10)
        #expect(added.map(\.id) == ["evt_row_3"] && added.allSatisfy { $0.sequence > highest.events })
        #expect(try await to.deliveries(after: highest.deliveries, limit: 10).count == 1)
        await from.close()
        await to.close()
    }
}
