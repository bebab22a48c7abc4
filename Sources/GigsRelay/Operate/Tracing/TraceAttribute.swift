/// Attribute names of gigs-relay's spans that OpenTelemetry's semantic conventions have no name for (the
/// HTTP ones come from `OTelAttribute`). None holds a secret, a credential or payload content.
enum TraceAttribute {
    /// Semantic conventions still in development (the package offers them only behind a trait that pins
    /// its minor version).
    static let requestBodySize = "http.request.body.size"
    static let eventID = "gigs_relay.event.id"
    static let eventType = "gigs_relay.event.type"
    static let eventSubject = "gigs_relay.event.subject"
    /// `verified`, or the refusal's error code (`invalid_signature`, `stale_timestamp`, …).
    static let verification = "gigs_relay.webhook.verification"
    static let duplicate = "gigs_relay.event.duplicate"
    /// Events committed together with this one (the group commit).
    static let batchSize = "gigs_relay.store.batch_size"
    static let action = "gigs_relay.action"
    static let actionKind = "gigs_relay.action.kind"
    static let attempt = "gigs_relay.attempt"
    static let deliveryID = "gigs_relay.delivery.id"
    /// `succeeded`, `retry`, `dead`, `skipped` or `released`.
    static let outcome = "gigs_relay.outcome"
    /// When the next attempt is due (Unix ms), after a failure that is retried.
    static let retryAt = "gigs_relay.retry_at"
    static let exitStatus = "process.exit.code"
}
