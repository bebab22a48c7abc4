import Foundation

/// A delivery's id (`dlv_42`): one event going to one action. Sent as `webhook-id` by http actions.
public struct DeliveryID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int64

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Parses `dlv_42` or `42`.
    public init?(parsing text: String) {
        let digits = text.hasPrefix("dlv_") ? text.dropFirst(4) : Substring(text)
        guard let value = Int64(digits), value > 0 else { return nil }
        self.rawValue = value
    }

    public var description: String { "dlv_\(rawValue)" }

    public static func < (lhs: DeliveryID, rhs: DeliveryID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where a delivery stands.
public enum DeliveryStatus: String, Sendable, CaseIterable {
    /// Waiting for its first attempt (or released at shutdown).
    case pending
    /// Claimed by a worker under a lease.
    case running
    /// Done.
    case succeeded
    /// Failed; will be tried again at its next attempt time.
    case failed
    /// Failed permanently or ran out of attempts; an operator can retry it.
    case dead
    /// Not applicable (for example a pSIM for install links); never retried.
    case skipped
}

/// A delivery claimed by a worker: everything an action needs for one attempt.
public struct DeliveryJob: Sendable {
    public let id: DeliveryID
    public let eventID: EventID
    public let eventType: String
    public let action: String
    /// This attempt's number, from 1.
    public let attempt: Int
    /// The stored raw event body.
    public let body: [UInt8]
    /// When the event was received (Unix ms), for the dispatch-lag metric.
    public let receivedAt: Int64
    /// Whether an operator's replay created this delivery (a deliberate re-delivery).
    public var isReplay = false
    /// Whether it is ordered by subject and a later event of its subject was already delivered: it arrived
    /// too late to be sorted in.
    public var isOutOfOrder = false

    /// The `Idempotency-Key` a receiver can deduplicate by: `<event id>:<action>`, the same for every
    /// attempt and every Gigs retry of the event; a replay adds `:replay-<delivery id>`, since it is meant
    /// to be delivered again.
    public var idempotencyKey: String {
        isReplay ? "\(eventID):\(action):replay-\(id.rawValue)" : "\(eventID):\(action)"
    }
}

/// A delivery a new event gets: one per routed action.
public struct NewDelivery: Sendable, Equatable {
    public let action: String
    /// The subject it is ordered by, for an action with `ordering = "subject"`; nil: not ordered.
    public let subject: String?
    /// When it is first due (Unix ms): the event's arrival, or later by the action's reorder window.
    public let dueAt: Int64

    public init(action: String, subject: String? = nil, dueAt: Int64) {
        self.action = action
        self.subject = subject
        self.dueAt = dueAt
    }
}

/// How an attempt ended, as the store records it.
public enum AttemptOutcome: Sendable, Equatable {
    case succeeded
    /// Failed; try again at `nextAttemptAt` (Unix ms).
    case retry(error: String, nextAttemptAt: Int64)
    /// Failed permanently or out of attempts.
    case dead(error: String)
    /// Not applicable; `reason` says why.
    case skipped(reason: String)
    /// Interrupted by shutdown: back to `pending`, the attempt not counted.
    case released

    /// The error (or skip reason) the store records.
    var error: String? {
        switch self {
        case .retry(let error, _), .dead(let error): error
        case .skipped(let reason): reason
        case .succeeded, .released: nil
        }
    }

    var label: String {
        switch self {
        case .succeeded: "succeeded"
        case .retry: "failed"
        case .dead: "dead"
        case .skipped: "skipped"
        case .released: "released"
        }
    }
}

/// One finished attempt, as the dispatcher reports it to the store.
public struct AttemptRecord: Sendable {
    public let delivery: DeliveryID
    public let attempt: Int
    /// Unix ms when the attempt started.
    public let startedAt: Int64
    public let durationMilliseconds: Int64
    public let outcome: AttemptOutcome
    /// A bounded tail of a command's output (exec actions), secret-free by construction.
    public let output: String?

    public init(
        delivery: DeliveryID,
        attempt: Int,
        startedAt: Int64,
        durationMilliseconds: Int64,
        outcome: AttemptOutcome,
        output: String? = nil
    ) {
        self.delivery = delivery
        self.attempt = attempt
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.outcome = outcome
        self.output = output
    }
}

/// What the dispatcher asks of one claim.
public struct ClaimRequest: Sendable {
    /// What a claim needs to know of one action.
    public struct Action: Sendable {
        /// How many more of its deliveries may run now.
        public var room: Int
        /// Its `max_attempts`: a delivery whose lease expired on that attempt becomes `dead`.
        public var maxAttempts: Int
        /// `ordering = "subject"`: a delivery with a subject goes only when every earlier one of its
        /// subject finished (`deadBlocks`: a dead one holds it) and none of its subject is running.
        public var ordered: Bool
        public var deadBlocks: Bool

        public init(room: Int, maxAttempts: Int, ordered: Bool = false, deadBlocks: Bool = true) {
            self.room = room
            self.maxAttempts = maxAttempts
            self.ordered = ordered
            self.deadBlocks = deadBlocks
        }
    }

    /// Most deliveries to claim.
    public let limit: Int
    /// The actions to claim for. Deliveries of actions not listed (no longer configured) are left as they
    /// are.
    public let actions: [String: Action]
    /// Now, in Unix ms.
    public let now: Int64
    /// The lease's length.
    public let leaseMilliseconds: Int64
    /// When set, the claim first parks, until this time (Unix ms), due deliveries of ordered actions
    /// whose subject a dead delivery holds, so that later claims do not read them again and again. A retry
    /// or skip of the dead delivery makes them due again.
    public var parkBlockedUntil: Int64?

    public init(limit: Int, actions: [String: Action], now: Int64, leaseMilliseconds: Int64) {
        self.limit = limit
        self.actions = actions
        self.now = now
        self.leaseMilliseconds = leaseMilliseconds
    }
}

/// What one claim found.
public struct Claim: Sendable {
    public let jobs: [DeliveryJob]
    /// When the earliest unclaimed delivery becomes due (Unix ms), if any is waiting.
    public let nextDueAt: Int64?
    /// Deliveries whose last attempt never finished (the process died or hung past the lease) and that had
    /// no attempts left: the claim made them `dead` instead of running them again.
    public var poisoned: [PoisonedDelivery] = []
    /// The actions an operator paused (`gigs-relay actions pause`): the claim took none of their
    /// deliveries.
    public var paused: Set<String> = []
}

/// A delivery the claim found with an expired lease and an exhausted attempt budget, now `dead`.
public struct PoisonedDelivery: Sendable {
    /// The `lastError` both backends record: "attempt did not finish: lease expired N times (attempt N
    /// of M)", where `expirations` counts the expiry that poisoned it.
    static func error(expirations: Int64, attempts: Int, maxAttempts: Int) -> String {
        "attempt did not finish: lease expired \(expirations) time\(expirations == 1 ? "" : "s")"
            + " (attempt \(attempts) of \(maxAttempts))"
    }

    public let id: DeliveryID
    public let eventID: EventID
    public let action: String
    /// Attempts started, the unfinished one included.
    public let attempts: Int
    /// The error recorded as its `lastError`.
    public let error: String
}

/// Unix milliseconds of a date (the store's timestamps).
public func unixMilliseconds(_ date: Date = Date()) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
}
