import Foundation
import GigsRelay
import Testing

/// Encryption at rest (``PayloadSealer``): what the rows hold, and what every read gives back.
extension StoreConformance {
    /// An event body, an attempt's error and output are sealed in the rows (`store copy` sees them sealed,
    /// and copies them so); the console, a claim's job once opened, replay candidates and action summaries
    /// give the plaintext. The user an event is about is recorded in the clear.
    static func sealing(_ backend: Backend) async throws {
        let key = StoreKey.random()
        let sealer = PayloadSealer(current: key, previous: [])
        try await StoreUnderTest.with(backend, sealer: sealer) { store in
            let body = SampleEvents.subscription(
                id: "evt_seal_1", sim: #"{"object":"sim","id":"sim_1","type":"eSIM"}"#,
                user: #"{"object":"user","id":"usr_seal","email":"sealed@example.com","fullName":"Sea Led"}"#)
            let event = try signer.verifiedEvent(id: "evt_seal_1", body: body)
            #expect(event.user == "usr_seal")
            #expect(try await store.log.append(event, actions: ["a"]) == .accepted)
            let now = Self.now()
            let job = try #require(try await Self.claim(store.log, actions: ["a"], now: now).jobs.first)
            // The claim hands the stored bytes on; the dispatcher opens them for the attempt.
            #expect(PayloadSealer.keyID(of: job.body) == key.id)
            #expect(try sealer.open(job.body, for: .event(job.eventID)) == body)
            let error = "HTTP 422: sealed@example.com is not a known address"
            #expect(
                try await store.log.finish(
                    AttemptRecord(
                        delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 3,
                        outcome: .dead(error: error), output: "echo: Sea Led")))

            let rows = try await store.location.openRows(
                environment: store.environment, logger: StoreUnderTest.logger, create: false)
            let stored = try await rows.events(after: 0, limit: 10)
            let deliveries = try await rows.deliveries(after: 0, limit: 10)
            let attempts = try await rows.attempts(after: 0, limit: 10)
            #expect(stored.map(\.user) == ["usr_seal"] && stored.map(\.subject) == ["sub_1"])
            #expect(stored.allSatisfy { PayloadSealer.keyID(of: $0.body) == key.id })
            let texts =
                deliveries.compactMap(\.lastError) + attempts.compactMap(\.error) + attempts.compactMap(\.output)
            #expect(texts.count == 3 && texts.allSatisfy { PayloadSealer.keyID(ofText: $0) == key.id })
            let everything = stored.map { String(decoding: $0.body, as: UTF8.self) } + texts
            #expect(!everything.contains { $0.contains("sealed@example.com") || $0.contains("Sea Led") })
            #expect(try await rows.listedKeys() == [key.id])
            await rows.close()

            let console = try await store.console()
            let read = try await console.event(id: EventID("evt_seal_1"))
            #expect(read?.body == body && read?.user == "usr_seal")
            #expect(try await console.events(EventFilter()).map(\.user) == ["usr_seal"])
            #expect(try await console.deliveries(DeliveryFilter()).first?.lastError == error)
            let attempt = try await console.attempts(of: job.id).first
            #expect(attempt?.error == error && attempt?.output == "echo: Sea Led")
            #expect(try await console.actionSummaries().first?.lastError == error)
            #expect(try await console.replayCandidates(ids: [EventID("evt_seal_1")]).map(\.body) == [body])
            // A stand-in is sealed as it is stored.
            let standIn = try signer.verifiedEvent(id: "evt_seal_2")
            #expect(try await console.appendStandIns([(standIn, [])]) == [true])
            #expect(try await console.event(id: EventID("evt_seal_2"))?.body == standIn.body)
            await console.close()
            let copy = try await store.location.openRows(
                environment: store.environment, logger: StoreUnderTest.logger, create: false)
            #expect(try await copy.events(after: 0, limit: 10).allSatisfy { PayloadSealer.isSealed($0.body) })
            await copy.close()
        }
    }

    /// Rows sealed with a key: a log or console opened without it, or with another key only, is refused
    /// with an error naming the key id (a configuration error, exit 78); with it as a previous key, they
    /// open, and new rows are sealed with the current key.
    static func missingKey(_ backend: Backend) async throws {
        let key = StoreKey.random()
        let next = StoreKey.random()
        try await StoreUnderTest.with(backend, sealer: PayloadSealer(current: key, previous: [])) { store in
            _ = try await store.log.append(try signer.verifiedEvent(id: "evt_key_1"), actions: [])
            // One SQLite writer at a time: the next logs open after this one closed.
            await store.log.close()
            for sealer in [PayloadSealer.plaintext, PayloadSealer(current: next, previous: [])] {
                for opening in ["log", "console"] {
                    do {
                        if opening == "log" {
                            await (try await store.openAnotherLog(sealer: sealer)).close()
                        } else {
                            await (try await store.console(sealer: sealer)).close()
                        }
                        Issue.record("a \(opening) opened a store sealed with \(key.id) without the key")
                    } catch let error as StoreError {
                        #expect(error.isConfigurationError && error.detail.contains(key.id), "\(error)")
                    }
                }
            }
            // The refused opens listed nothing: the store still needs only the first key.
            let rows = try await store.location.openRows(
                environment: store.environment, logger: StoreUnderTest.logger, create: false)
            #expect(try await rows.listedKeys() == [key.id])
            await rows.close()
            let rotated = PayloadSealer(current: next, previous: [key])
            let log = try await store.openAnotherLog(sealer: rotated)
            _ = try await log.append(try signer.verifiedEvent(id: "evt_key_2"), actions: [])
            await log.close()
            let console = try await store.console(sealer: rotated)
            #expect(try await console.event(id: EventID("evt_key_1"))?.body.first == UInt8(ascii: "{"))
            #expect(try await console.event(id: EventID("evt_key_2"))?.body.first == UInt8(ascii: "{"))
            await console.close()
        }
    }
}

/// Erasure (``Erasure``): what it replaces, clears and skips, and what it leaves.
extension StoreConformance {
    static func erasure(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            func user(_ id: String) -> String { #"{"object":"user","id":"\#(id)","email":"\#(id)@example.com"}"# }
            let sim = #"{"object":"sim","id":"sim_1","type":"eSIM"}"#
            for (index, owner) in ["usr_a", "usr_a", "usr_a", "usr_b"].enumerated() {
                let body = SampleEvents.subscription(
                    id: "evt_erase_\(index)", subscription: "sub_\(index)", sim: sim, user: user(owner))
                _ = try await store.log.append(
                    try signer.verifiedEvent(id: "evt_erase_\(index)", body: body), actions: ["a"])
            }
            let now = Self.now()
            let claim = try await Self.claim(store.log, actions: ["a"], limit: 1, now: now)
            let job = try #require(claim.jobs.first)
            #expect(job.eventID == EventID("evt_erase_0"))
            _ = try await store.log.finish(
                AttemptRecord(
                    delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 1,
                    outcome: .retry(error: "HTTP 500: usr_a@example.com", nextAttemptAt: now + 60_000),
                    output: "usr_a@example.com"))
            let console = try await store.console()
            let counted = try await console.erase(.user("usr_a"), reason: "test", dryRun: true)
            #expect(counted == Erasure.Result(events: 3, attempts: 1, skippedDeliveries: 3))
            #expect(try await console.event(id: EventID("evt_erase_1"))?.erasedAt == nil)

            let erased = try await console.erase(.user("usr_a"), reason: "the user was deleted (evt_x)", dryRun: false)
            #expect(erased == counted)
            let tombstone = try #require(try await console.event(id: EventID("evt_erase_1")))
            #expect(tombstone.erasedAt != nil && tombstone.user == "usr_a")
            let text = String(decoding: tombstone.body, as: UTF8.self)
            #expect(text.hasPrefix(#"{"erased":{"at":"#) && text.contains("evt_x") && !text.contains("@example.com"))
            #expect(text.contains(#""id":"evt_erase_1""#) && text.contains(#""subject":"sub_1""#))
            let deliveries = try await console.deliveries(DeliveryFilter())
            #expect(deliveries.filter { $0.eventID != EventID("evt_erase_3") }.allSatisfy { $0.status == .skipped })
            #expect(deliveries.first { $0.eventID == EventID("evt_erase_3") }?.status == .pending)
            let attempt = try await console.attempts(of: job.id).first
            #expect(attempt?.error == "(erased)" && attempt?.output == nil)
            #expect(try await console.event(id: EventID("evt_erase_3"))?.body.contains(UInt8(ascii: "@")) == true)
            #expect(try await console.replayCandidates(ids: [EventID("evt_erase_2")]).map(\.isErased) == [true])
            #expect(try await console.replayCandidates(ids: [EventID("evt_erase_3")]).map(\.isErased) == [false])
            #expect(try await console.erase(.user("usr_a"), reason: "again", dryRun: false) == Erasure.Result())

            // Reconciliation never recreates an erased user's events.
            let standIn = try signer.verifiedEvent(
                id: "evt_reconciled_x",
                body: SampleEvents.subscription(id: "evt_reconciled_x", sim: sim, user: user("usr_a")))
            #expect(try await console.appendStandIns([(standIn, [])]) == [false])

            // A user deletion is listed until it is erased; delivered once its deliveries finished.
            let deletion = Array(
                #"{"id":"evt_del","type":"com.gigs.user.deleted","data":{"object":"user","id":"usr_b"}}"#.utf8)
            _ = try await store.log.append(try signer.verifiedEvent(id: "evt_del", body: deletion), actions: [])
            let listed = try await console.userDeletions(limit: 10)
            #expect(listed.map(\.user) == ["usr_b"] && listed.map(\.isDelivered) == [true])
            let sequence = try #require(listed.first?.sequence)
            #expect(try await console.erase(.event(sequence), reason: "r", dryRun: false).events == 1)
            #expect(try await console.userDeletions(limit: 10).isEmpty)
            await console.close()
        }
    }
}

/// `store encrypt` and `store rekey` at the store (``Reseal``).
extension StoreConformance {
    /// A plaintext store sealed by a console with a key (which lists the key before it seals), then moved
    /// to a second key, which then is the only one the store needs.
    static func resealing(_ backend: Backend) async throws {
        try await StoreUnderTest.with(backend) { store in
            for index in 0..<3 {
                _ = try await store.log.append(try signer.verifiedEvent(id: "evt_reseal_\(index)"), actions: ["a"])
            }
            let now = Self.now()
            for job in try await Self.claim(store.log, actions: ["a"], now: now).jobs {
                _ = try await store.log.finish(
                    AttemptRecord(
                        delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 1,
                        outcome: .dead(error: "HTTP 400"), output: "out"))
            }
            let first = StoreKey.random()
            let second = StoreKey.random()
            func pass(_ sealer: PayloadSealer, _ mode: Reseal.Mode) async throws -> Int {
                let console = try await store.console(sealer: sealer)
                var changed = 0
                for table in Reseal.Table.allCases {
                    var cursor: Int64 = 0
                    while let next = try await console.reseal(table, after: cursor, mode: mode).cursor {
                        cursor = next
                        changed += 1
                    }
                }
                await console.close()
                return changed
            }
            func rows() async throws -> (keys: [String], bodies: [String?], texts: [String?]) {
                let rows = try await store.location.openRows(
                    environment: store.environment, logger: StoreUnderTest.logger, create: false)
                let keys = try await rows.listedKeys()
                let bodies = try await rows.events(after: 0, limit: 10).map { PayloadSealer.keyID(of: $0.body) }
                let texts =
                    try await rows.deliveries(after: 0, limit: 10).map {
                        $0.lastError.flatMap(PayloadSealer.keyID(ofText:))
                    }
                    + (try await rows.attempts(after: 0, limit: 10)).flatMap {
                        [$0.error, $0.output].map { $0.flatMap(PayloadSealer.keyID(ofText:)) }
                    }
                await rows.close()
                return (keys, bodies, texts)
            }
            _ = try await pass(PayloadSealer(current: first, previous: []), .encrypt)
            var found = try await rows()
            #expect(found.keys == [first.id] && found.bodies == Array(repeating: first.id, count: 3))
            #expect(found.texts.count == 9 && found.texts.allSatisfy { $0 == first.id })
            let rotated = PayloadSealer(current: second, previous: [first])
            // encrypt leaves rows of a previous key; rekey moves them.
            _ = try await pass(rotated, .encrypt)
            #expect(try await rows().bodies == Array(repeating: first.id, count: 3))
            _ = try await pass(rotated, .rekey)
            found = try await rows()
            #expect(found.bodies == Array(repeating: second.id, count: 3) && found.texts.allSatisfy { $0 == second.id })
            let console = try await store.console(sealer: rotated)
            #expect(try await console.unlistKeys(keeping: second.id) == 1)
            #expect(try await console.event(id: EventID("evt_reseal_1"))?.body.first == UInt8(ascii: "{"))
            #expect(try await console.attempts(of: DeliveryID(1)).first?.output == "out")
            await console.close()
            #expect(try await rows().keys == [second.id])
        }
    }
}
