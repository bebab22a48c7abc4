/// A Gigs event whose signature was verified: the only thing the event store accepts.
///
/// Its initialiser is internal and called only by ``SignatureVerifier``, so code outside this module
/// cannot append an unverified event.
public struct VerifiedEvent: Sendable {
    /// The event's `id`, its idempotency key.
    public let id: EventID
    /// The event's `type`, such as `com.gigs.subscription.activated`.
    public let type: String
    /// The event's `project`, when present.
    public let project: String?
    /// The event's `time` as sent (RFC 3339), when present.
    public let time: String?
    /// What the event is about (a subscription, group, SIM, … id): `data.subscription`, else `data.id`.
    public let subject: String?
    /// `data.id`, the resource the event carries.
    public let resource: String?
    /// The Gigs user it is about (``EventEnvelope/userPointers``), for erasure.
    public let user: String?
    /// The delivery headers, kept so the stored event can be verified again later.
    public let headers: WebhookHeaders
    /// `webhook-timestamp` as a number.
    public let timestamp: Int64
    /// The raw body exactly as received.
    public let body: [UInt8]
    /// The body as the store writes it: sealed (``PayloadSealer/seal(_:)``) when the store encrypts, else
    /// ``body``.
    package private(set) var storedBody: [UInt8]
    /// When the receiver accepted it, in Unix milliseconds.
    public let receivedAt: Int64
    /// Index in `webhook.secrets` of the secret that verified it.
    public let secretIndex: Int
    /// Its ingest span's trace context, stored with it for its attempts to continue; nil untraced.
    public var traceContext: TraceContext?
    /// Told the size of the group commit that stores it, for the store span (nil untraced).
    package var groupCommit: GroupCommitProbe?

    /// Where it sorts among its subject's events (Unix ms): its `time`, or its arrival when it has none.
    /// Arrival order breaks ties.
    public var orderAt: Int64 { time.flatMap(EventTime.milliseconds) ?? receivedAt }

    /// The id reconciliation gives its stand-in for this event, when the event is one reconciliation
    /// recovers: a webhook arriving after its stand-in was stored is kept but not dispatched again.
    /// Nil for a stand-in itself.
    public var standIn: EventID? {
        guard StandIn.recoverableTypes.contains(type), !StandIn.isStandIn(id), let resource else { return nil }
        return StandIn.id(type: type, resource: resource)
    }

    /// A stand-in built by reconciliation (``StandIn``) from a resource the Gigs API holds: not received,
    /// so `webhook-id` is its own id, the timestamp the time it was made, and no signature.
    init(standIn envelope: EventEnvelope, body: [UInt8], madeAt: Int64) {
        self.init(
            envelope: envelope,
            headers: WebhookHeaders(id: envelope.id, timestamp: String(madeAt / 1000), signature: StandIn.signature),
            timestamp: madeAt / 1000, body: body, receivedAt: madeAt, secretIndex: -1)
    }

    /// This event with its stored body sealed by `sealer` (unchanged when the store does not encrypt).
    package func sealed(by sealer: PayloadSealer) -> VerifiedEvent {
        var sealed = self
        sealed.storedBody = sealer.seal(body, for: .event(id))
        return sealed
    }

    init(
        envelope: EventEnvelope,
        headers: WebhookHeaders,
        timestamp: Int64,
        body: [UInt8],
        receivedAt: Int64,
        secretIndex: Int
    ) {
        self.id = EventID(envelope.id)
        self.type = envelope.type
        self.project = envelope.project
        self.time = envelope.time
        self.subject = envelope.subject
        self.resource = envelope.resource
        self.user = envelope.user
        self.headers = headers
        self.timestamp = timestamp
        self.body = body
        self.storedBody = body
        self.receivedAt = receivedAt
        self.secretIndex = secretIndex
    }
}
