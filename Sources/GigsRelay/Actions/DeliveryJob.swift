/// A delivery claimed by a worker: everything an action needs for one attempt.
public struct DeliveryJob: Sendable {
    public let id: DeliveryID
    public let eventID: EventID
    public let eventType: String
    public let action: String
    /// This attempt's number, from 1.
    public let attempt: Int
    /// The raw event body: as the store holds it (sealed when it encrypts) until the dispatcher opens it
    /// for the attempt.
    public internal(set) var body: [UInt8]
    /// When the event was received (Unix ms), for the dispatch-lag metric.
    public let receivedAt: Int64
    /// Whether an operator's replay created this delivery (a deliberate re-delivery).
    public var isReplay = false
    /// Whether it is ordered by subject and a later event of its subject was already delivered: it arrived
    /// too late to be sorted in.
    public var isOutOfOrder = false
    /// The trace context stored with the event (its ingest span), which the attempt's span continues.
    public var traceContext: TraceContext?
    /// The attempt's span, when tracing is on: set by the dispatcher for the action.
    public internal(set) var trace: AttemptTrace?

    /// Whether the event is a reconciled stand-in (``StandIn``): reconstructed from the Gigs API, not
    /// received as a webhook.
    public var isReconciled: Bool { StandIn.isStandIn(eventID) }

    /// The `Idempotency-Key` a receiver can deduplicate by: `<event id>:<action>`, the same for every
    /// attempt and every Gigs retry of the event; a replay adds `:replay-<delivery id>`, since it is meant
    /// to be delivered again.
    public var idempotencyKey: String {
        isReplay ? "\(eventID):\(action):replay-\(id.rawValue)" : "\(eventID):\(action)"
    }
}
