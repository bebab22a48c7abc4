import GigsRelay
import Testing

/// One promise of ``EventLog`` and ``StoreConsole``, checked on a backend (with `#expect`).
public struct StoreCheck: Sendable, CustomTestStringConvertible {
    public let name: String
    private let body: @Sendable (Backend) async throws -> Void

    init(_ name: String, _ run: @escaping @Sendable (Backend) async throws -> Void) {
        self.name = name
        self.body = run
    }

    public var testDescription: String { name }

    /// A few PostgreSQL checks at once: each creates and migrates a database on the shared cluster, and a
    /// CI run with every check at once on two cores under ThreadSanitizer saw calls pass the store's 5 s
    /// deadline.
    private static let postgresGate = TestGate(width: 3)

    /// Runs the check on a fresh store of `backend`.
    public func run(_ backend: Backend) async throws {
        switch backend {
        case .sqlite: try await body(backend)
        case .postgresql: try await Self.postgresGate.run { try await body(backend) }
        }
    }
}

/// The store contract as checks any backend runs (Store/EventLog.swift, Store/StoreConsole.swift):
/// a test target passes every check with every ``Backend`` to one parameterised test.
public enum StoreConformance {
    /// The schema migrations every backend records, in order (the names are shared; the SQL is each
    /// backend's own).
    public static let migrations = [
        "0001_create_events", "0002_create_deliveries", "0003_index_events_by_received_at", "0004_create_store_probe",
        "0005_lease_expirations_and_due_by_action", "0006_create_action_state", "0007_ordered_deliveries",
        "0008_event_subjects", "0009_event_id_prefix", "0010_drop_deliveries_due",
        "0011_create_reconcile_runs", "0012_event_users_and_erasure", "0013_sealed_payloads",
        "0014_event_trace_context",
    ]

    /// Every check, in the order of the contract.
    public static let checks: [StoreCheck] = [
        StoreCheck(
            "An event is stored once with its fields and body; a duplicate is answered, no deliveries added", appendOnce
        ),
        StoreCheck(
            "Deliveries are found by their event's subject, whether or not their action orders by it",
            deliveriesBySubject),
        StoreCheck(
            "Concurrent appends share commits; one id among many concurrent copies is accepted once", concurrentAppends),
        StoreCheck(
            "A claim marks due deliveries running under a lease; a finish moves them on, fenced by attempt",
            claimAndFinish),
        StoreCheck(
            "Claims take each action within its room, actions in turn, never unconfigured ones", claimRoomAndTurns),
        StoreCheck(
            "A new delivery the dispatcher offered room for is stored running and handed over, fenced like a claim's",
            handOff),
        StoreCheck(
            "An expired lease counts as an attempt, is recorded, and poisons a delivery on its last one", leaseExpiry),
        StoreCheck("A released attempt goes back to pending without counting", release),
        StoreCheck("Dead letters are listed and retried with a fresh budget; a dry run changes nothing", retryDead),
        StoreCheck(
            "Listings filter events by type, subject and time, deliveries by subject and time, and walk by cursor",
            listings),
        StoreCheck(
            "Skip marks pending, failed and dead deliveries skipped, never running or finished ones; a dry run reads",
            skip),
        StoreCheck(
            "A paused action's deliveries are not claimed and are named paused; resume claims them; summaries count",
            pause),
        StoreCheck("Replays create marked deliveries for stored events only, chosen by id or by type and time", replay),
        StoreCheck(
            "Retention and prune remove only finished events (dead ones only when asked); a dry run counts", prune),
        StoreCheck("Stats count events, unfinished and dead deliveries, and the probe write succeeds", stats),
        StoreCheck(
            "StoreLocation.open gives the daemon its log and a console that reads what the log wrote", openedTogether),
        StoreCheck(
            "A reconciled stand-in is stored once with its deliveries; a later webhook it stands in for gets none",
            standIns),
        StoreCheck(
            "Reconciliation runs start once under the lock, whoever asks at once; finished ones are listed, bounded",
            reconcileRuns),
        StoreCheck(
            "With a key, bodies and attempt texts are sealed in the rows and opened by every read; users recorded",
            sealing),
        StoreCheck(
            "A store holding rows sealed with a key is refused without it, by the log and the console alike",
            missingKey),
        StoreCheck(
            "store encrypt seals plaintext rows, listing the key first; rekey moves them to the next key", resealing),
        StoreCheck(
            "Erasure replaces payloads with tombstones, clears attempt texts, skips pending deliveries, only the user's",
            erasure),
        StoreCheck("A closed log refuses appends with store_closed", closed),
        StoreCheck(
            "Rows copy with their ids: read back as written, a second copy changes nothing, newer deliveries win",
            rowCopy),
    ]

    static let signer = TestSigner()

    public static func claim(
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

    public static func now() -> Int64 { unixMilliseconds() + 1000 }
}
