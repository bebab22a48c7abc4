import Hummingbird
import Logging
import NIOCore

/// What health, readiness and metrics read: the metrics and the monitor of one daemon.
public struct Observability: Sendable {
    public let metrics: RelayMetrics
    public let monitor: RelayMonitor
    /// The dispatcher's heartbeat, which the monitor and the watchdog watch.
    public let dispatcher: Heartbeat
    /// The operators' API, served beside health and metrics when the daemon has a store console.
    public var operatorAPI: OperatorAPI?
    /// Traces of `[tracing]`; off without it.
    public var tracing: RelayTracing = .off

    public init(metrics: RelayMetrics, monitor: RelayMonitor, dispatcher: Heartbeat) {
        self.metrics = metrics
        self.monitor = monitor
        self.dispatcher = dispatcher
    }

    /// Fresh metrics, a heartbeat and a monitor over `store`.
    ///
    /// - Parameters:
    ///   - live: the settings in effect, whose actions readiness compares with the queued deliveries.
    ///   - onReading: called with each of the monitor's readings.
    public init(
        store: any EventLog,
        configuration: RelayConfiguration,
        live: LiveSettings? = nil,
        logger: Logger,
        onReading: @escaping @Sendable (StoreStats) -> Void = { _ in }
    ) {
        let metrics = RelayMetrics()
        let dispatcher = Heartbeat()
        var configuredActions: (@Sendable () -> [String: ActionConfiguration])?
        if let live {
            configuredActions = { live.snapshot.settings }
        }
        self.init(
            metrics: metrics,
            monitor: RelayMonitor(
                store: store, metrics: metrics, ready: configuration.ready,
                probeBytes: configuration.server.maxBodyBytes, dispatcher: dispatcher,
                configuredActions: configuredActions, logger: logger,
                onReading: onReading),
            dispatcher: dispatcher
        )
    }
}

/// `GET /healthz` (liveness), `GET /readyz` (readiness with reasons) and `GET /metrics` (Prometheus), and
/// with a store console, the operator API (`/api/v1`) and web console (`/console`).
enum AdminEndpoints {
    /// Route labels of these endpoints, for the request metrics.
    static let routes = ["/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics"]

    private struct Readiness: Encodable {
        struct Deliveries: Encodable {
            let pending: Int
            let dead: Int
            let oldestPendingSeconds: Int64
        }
        let status: String
        let reasons: [String]?
        let eventsReceived: Int64?
        let deliveries: Deliveries?
    }

    static func add<Context: RemoteAddressRequestContext>(to router: Router<Context>, observability: Observability) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(status: .ok, body: ["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            let now = unixMilliseconds()
            let reasons = observability.monitor.notReadyReasons(now: now)
            let stats = observability.monitor.stats
            let body = Readiness(
                status: reasons.isEmpty ? "ready" : "not_ready",
                reasons: reasons.isEmpty ? nil : reasons,
                eventsReceived: stats?.eventsReceived,
                deliveries: stats.map {
                    .init(
                        pending: $0.pendingDeliveries, dead: $0.deadDeliveries,
                        oldestPendingSeconds: $0.oldestPendingAgeMilliseconds(now: now) / 1000)
                }
            )
            return JSONResponse.make(status: reasons.isEmpty ? .ok : .serviceUnavailable, body: body)
        }
        if let api = observability.operatorAPI {
            api.add(to: router)
            OperatorConsole(api: api, observability: observability).add(to: router)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: observability.metrics.exposition()))
            )
        }
    }
}
