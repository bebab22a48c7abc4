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

    /// The status the delivery moves to.
    var status: DeliveryStatus {
        switch self {
        case .succeeded: .succeeded
        case .retry: .failed
        case .dead: .dead
        case .skipped: .skipped
        case .released: .pending
        }
    }

    /// When the delivery is due again (Unix ms); 0 when it is not.
    var nextAttemptAt: Int64 {
        if case .retry(_, let next) = self { return next }
        return 0
    }

    /// The attempt's outcome as `attempts.outcome` records it: the status it moved the delivery to, or
    /// `released`.
    var label: String {
        self == .released ? "released" : status.rawValue
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

    /// This record with its error and output sealed by `sealer` (unchanged when the store does not
    /// encrypt): a downstream's error text or a command's output can echo the payload.
    func sealed(by sealer: PayloadSealer) -> AttemptRecord {
        guard sealer.isSealing else { return self }
        let row = PayloadSealer.Row.delivery(delivery)
        let sealedOutcome: AttemptOutcome =
            switch outcome {
            case .retry(let error, let next):
                .retry(error: sealer.seal(text: error, for: row) ?? "", nextAttemptAt: next)
            case .dead(let error): .dead(error: sealer.seal(text: error, for: row) ?? "")
            case .skipped(let reason): .skipped(reason: sealer.seal(text: reason, for: row) ?? "")
            case .succeeded, .released: outcome
            }
        return AttemptRecord(
            delivery: delivery, attempt: attempt, startedAt: startedAt, durationMilliseconds: durationMilliseconds,
            outcome: sealedOutcome, output: sealer.seal(text: output, for: row))
    }

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
