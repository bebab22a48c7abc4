import NIOConcurrencyHelpers
import Prometheus

/// The daemon's Prometheus metrics (swift-prometheus), exposed on `GET /metrics`.
///
/// Every label value comes from a bounded set: routes and statuses the daemon itself answers, the
/// ingest error codes, secret indexes, configured action names, attempt outcomes, and at most
/// ``maximumEventTypes`` distinct event types (later ones are counted as `other`). Nothing a request
/// carries (ids, bodies, secrets, credentials) ever becomes a label or a value.
public final class RelayMetrics: Sendable {
    /// Distinct `type` label values before the rest are counted as `other`.
    static let maximumEventTypes = 64

    public let registry: PrometheusCollectorRegistry
    /// Events stored and deliveries finished over the last minutes, for the console.
    public let activity = ActivityRates()
    private let requests: CounterFamily<RequestKey>
    private let rejections: CounterFamily<String>
    private let secretMatches: CounterFamily<Int>
    private let eventsStored: CounterFamily<String>
    private let eventsDuplicate: CounterFamily<String>
    private let attempts: CounterFamily<AttemptKey>
    private let eventTypes = NIOLockedValueBox<Set<String>>([])
    private let ingestDuration: DurationHistogram
    private let deliveryLag: DurationHistogram
    private let pending: Gauge
    private let oldestPending: Gauge
    private let dead: Gauge
    private let eventsReceived: Gauge
    private let blockedSubjects: Gauge
    private let oldestBlocked: Gauge
    private let circuitChanges: CounterFamily<CircuitKey>
    private let claims: Counter
    private let handedOver: Counter
    private let reconcileRuns: CounterFamily<String>
    private let reconcileLastSuccess: Gauge
    private let reconcileMissing: Gauge
    private let reconcileEmitted: Counter
    private let reconcileAPIErrors: Counter
    private let traceSpansDropped: Counter
    /// Per-action gauges, registered on first use: circuit state and paused.
    private let actionGauges = NIOLockedValueBox<[String: (circuit: Gauge, paused: Gauge)]>([:])

    public init(version: String = RelayVersion.current) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        requests = CounterFamily(registry, "http_requests", "HTTP requests answered, by route and status") {
            [("route", $0.route), ("status", "\($0.status)")]
        }
        rejections = CounterFamily(registry, "webhook_rejections", "Webhook requests refused, by error code") {
            [("reason", $0)]
        }
        secretMatches = CounterFamily(
            registry, "signature_secret_matches", "Verified requests by the index of the secret that matched"
        ) { [("secret", "\($0)")] }
        eventsStored = CounterFamily(registry, "events_stored", "Events stored, by type") {
            [("type", $0)]
        }
        eventsDuplicate = CounterFamily(registry, "events_duplicate", "Duplicate deliveries of stored events, by type")
        { [("type", $0)] }
        attempts = CounterFamily(registry, "delivery_attempts", "Delivery attempts, by action and outcome") {
            [("action", $0.action), ("outcome", $0.outcome)]
        }
        circuitChanges = CounterFamily(
            registry, "circuit_transitions", "Circuit breaker changes of state, by action and new state"
        ) { [("action", $0.action), ("state", $0.state)] }
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        ingestDuration = registry.makeDurationHistogram(
            descriptor: Self.name(
                "ingest_duration", unit: "seconds",
                "Time from a webhook request's arrival to its answer, for events stored or acknowledged"),
            buckets: buckets)
        deliveryLag = registry.makeDurationHistogram(
            descriptor: Self.name(
                "dispatch_lag", unit: "seconds",
                "Time from an event's arrival to the end of its successful delivery attempt"),
            buckets: buckets)
        pending = registry.makeGauge(
            descriptor: Self.name(
                "deliveries_pending", unit: "", "Deliveries not finished yet (pending, running or failed)"))
        oldestPending = registry.makeGauge(
            descriptor: Self.name(
                "oldest_pending_delivery_age", unit: "seconds", "Age of the oldest unfinished delivery"))
        dead = registry.makeGauge(
            descriptor: Self.name("deliveries_dead", unit: "", "Dead deliveries (dead letters) in the store"))
        blockedSubjects = registry.makeGauge(
            descriptor: Self.name(
                "blocked_subjects", unit: "", "Ordered subjects held by a dead delivery with others waiting behind it"))
        oldestBlocked = registry.makeGauge(
            descriptor: Self.name(
                "oldest_blocked_subject_age", unit: "seconds", "How long the oldest blocked subject has been held"))
        claims = registry.makeCounter(
            descriptor: Self.name(
                "claims", unit: "total", "Claims of due deliveries the dispatcher made (store queries)"))
        handedOver = registry.makeCounter(
            descriptor: Self.name(
                "deliveries_handed_over", unit: "total",
                "New deliveries leased to the dispatcher by the append that stored them, started without a claim"))
        reconcileRuns = CounterFamily(
            registry, "reconcile_runs",
            "Scheduled reconciliation runs on this instance, by outcome (complete, incomplete)"
        ) { [("outcome", $0)] }
        reconcileLastSuccess = registry.makeGauge(
            descriptor: Self.name(
                "reconcile_last_success", unit: "timestamp_seconds",
                "Unix time of this instance's last complete reconciliation run (0: none yet)"))
        reconcileMissing = registry.makeGauge(
            descriptor: Self.name(
                "reconcile_missing", unit: "",
                "Events Gigs never delivered that this instance's last reconciliation run found"))
        reconcileEmitted = registry.makeCounter(
            descriptor: Self.name(
                "reconcile_emitted", unit: "total", "Reconciled stand-ins this instance's scheduled runs stored"))
        reconcileAPIErrors = registry.makeCounter(
            descriptor: Self.name(
                "reconcile_api_errors", unit: "total",
                "Gigs API calls of scheduled reconciliation runs that failed, the ones asked again included"))
        traceSpansDropped = registry.makeCounter(
            descriptor: Self.name(
                "trace_spans_dropped", unit: "total",
                "Trace spans never exported: dropped from a full queue or lost with a failed export"))
        eventsReceived = registry.makeGauge(
            descriptor: Self.name("events_received", unit: "", "Events the store has received since it was created"))
        registry.makeGauge(
            descriptor: Self.name("build_info", unit: "", "Build information; always 1"),
            labels: [("version", version)]
        ).set(to: 1)
    }

    /// `gigs_relay_NAME_UNIT` with its help text.
    private static func name(_ name: String, unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "gigs_relay", metricName: name, unitName: unit, helpText: help)
    }

    /// An HTTP answer: `route` is the matched endpoint (`webhook`, `healthz`, …) or `unmatched`.
    func countRequest(route: String, status: Int) {
        requests.increment(RequestKey(route: route, status: status))
    }

    /// How long a webhook request took to answer.
    func recordIngest(_ duration: Duration) {
        ingestDuration.record(duration)
    }

    /// A refused webhook, by its error code (`invalid_signature`, `timestamp_out_of_range`, …).
    func countRejection(reason: String) {
        rejections.increment(reason)
    }

    /// Which configured secret verified a request (its index in `webhook.secrets`, never the secret).
    func countSecretMatch(index: Int) {
        secretMatches.increment(index)
    }

    /// A verified event, new or a duplicate, by type.
    func countEvent(type: String, duplicate: Bool) {
        let label = eventTypes.withLockedValue { seen -> String in
            if seen.contains(type) { return type }
            guard seen.count < Self.maximumEventTypes else { return "other" }
            seen.insert(type)
            return type
        }
        (duplicate ? eventsDuplicate : eventsStored).increment(label)
        if !duplicate { activity.record(.received) }
    }

    /// One claim query by the dispatcher.
    func countClaim() {
        claims.increment()
    }

    /// New deliveries the dispatcher started without a claim.
    func countHandedOver(_ count: Int) {
        handedOver.increment(by: Int64(count))
    }

    /// A finished attempt: `outcome` is succeeded, failed, dead, skipped or released.
    func countAttempt(action: String, outcome: String, lag: Duration?) {
        attempts.increment(AttemptKey(action: action, outcome: outcome))
        switch outcome {
        case "succeeded": activity.record(.delivered)
        case "failed", "dead": activity.record(.failed)
        default: break
        }
        if let lag { deliveryLag.record(lag) }
    }

    /// A scheduled reconciliation run's result, at `now` (Unix ms).
    func record(_ reconciliation: Reconciliation, now: Int64) {
        reconcileRuns.increment(reconciliation.incomplete == nil ? "complete" : "incomplete")
        if reconciliation.incomplete == nil { reconcileLastSuccess.set(to: Double(now) / 1000) }
        reconcileMissing.set(to: Double(reconciliation.missing.count))
        reconcileEmitted.increment(by: Int64(reconciliation.emitted ?? 0))
        reconcileAPIErrors.increment(by: Int64(reconciliation.apiErrors))
    }

    /// Trace spans the exporter lost (``TraceExportDiagnostics``).
    func countDroppedSpans(_ count: Int) {
        traceSpansDropped.increment(by: Int64(count))
    }

    /// Ordered subjects held by a dead delivery.
    func update(_ blocked: BlockedSubjects, now: Int64) {
        blockedSubjects.set(to: Double(blocked.count))
        oldestBlocked.set(to: blocked.oldestSince.map { Double(max(now - $0, 0)) / 1000 } ?? 0)
    }

    /// The store's latest counts.
    func update(_ stats: StoreStats, now: Int64) {
        pending.set(to: Double(stats.pendingDeliveries))
        dead.set(to: Double(stats.deadDeliveries))
        eventsReceived.set(to: Double(stats.eventsReceived))
        oldestPending.set(to: Double(stats.oldestPendingAgeMilliseconds(now: now)) / 1000)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}

extension RelayMetrics {
    private struct RequestKey: Hashable, Sendable {
        let route: String
        let status: Int
    }

    private struct CircuitKey: Hashable, Sendable {
        let action: String
        let state: String
    }

    /// Counts a circuit breaker's change and sets its gauge (0 closed, 1 half-open, 2 open).
    func recordCircuit(action: String, state: CircuitState) {
        circuitChanges.increment(CircuitKey(action: action, state: state.rawValue))
        let value: Double =
            switch state {
            case .closed: 0
            case .halfOpen: 1
            case .open: 2
            }
        gauges(for: action).circuit.set(to: value)
    }

    /// Sets whether an action is paused by an operator (1) or not (0).
    func recordPaused(action: String, paused: Bool) {
        gauges(for: action).paused.set(to: paused ? 1 : 0)
    }

    private func gauges(for action: String) -> (circuit: Gauge, paused: Gauge) {
        actionGauges.withLockedValue { cache in
            if let gauges = cache[action] { return gauges }
            let gauges = (
                circuit: registry.makeGauge(
                    descriptor: Self.name(
                        "action_circuit_state", unit: "", "Circuit breaker state: 0 closed, 1 half-open, 2 open"),
                    labels: [("action", action)]),
                paused: registry.makeGauge(
                    descriptor: Self.name("action_paused", unit: "", "1 while an operator has paused the action"),
                    labels: [("action", action)])
            )
            cache[action] = gauges
            return gauges
        }
    }

    private struct AttemptKey: Hashable, Sendable {
        let action: String
        let outcome: String
    }

    /// The counters of one metric, one per label value, registered on first use and cached: counting
    /// on the ingest path is one lock and one dictionary lookup, with no string building.
    private final class CounterFamily<Key: Hashable & Sendable>: Sendable {
        private let registry: PrometheusCollectorRegistry
        /// `gigs_relay_NAME_total`, with its help text.
        private let name: String
        private let help: String
        private let labels: @Sendable (Key) -> [(String, String)]
        private let counters = NIOLockedValueBox<[Key: Counter]>([:])

        init(
            _ registry: PrometheusCollectorRegistry,
            _ name: String,
            _ help: String,
            labels: @escaping @Sendable (Key) -> [(String, String)]
        ) {
            self.registry = registry
            self.name = name
            self.help = help
            self.labels = labels
        }

        func increment(_ key: Key) {
            counters.withLockedValue { cache -> Counter in
                if let counter = cache[key] { return counter }
                let counter = registry.makeCounter(
                    descriptor: RelayMetrics.name(name, unit: "total", help), labels: labels(key))
                cache[key] = counter
                return counter
            }.increment()
        }
    }
}
