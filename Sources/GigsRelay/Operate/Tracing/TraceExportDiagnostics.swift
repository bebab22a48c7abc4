import Logging

/// The log handler swift-otel's exporter and batch processor report to: counts the spans they lose (a
/// full queue, a failed or timed-out export) in `gigs_relay_trace_spans_dropped_total`, and lets one
/// warning a minute through to the daemon's log, so a collector that is down or black-holing is said
/// once, not for every batch.
struct TraceExportDiagnostics: LogHandler {
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]
    let metrics: RelayMetrics
    let logger: Logger
    private let throttle: LogThrottle

    init(metrics: RelayMetrics, logger: Logger, throttle: LogThrottle = LogThrottle(limit: 1, interval: .seconds(60))) {
        self.metrics = metrics
        self.logger = logger
        self.throttle = throttle
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// swift-otel 1.6's batch processor says "Spans were dropped …" with `dropped_count` when its queue was
    /// full, and "Failed to export batch." with `batch_size` when an export failed or timed out.
    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let message = event.message.description
        var lost = 0
        if message.hasPrefix("Spans were dropped") {
            lost = Self.count(all["dropped_count"])
        } else if message.hasPrefix("Failed to export batch") {
            lost = Self.count(all["batch_size"])
        }
        if lost > 0 { metrics.countDroppedSpans(lost) }
        guard event.level >= .warning else { return }
        var detail = message
        if let error = all["error"] { detail += " \(error)" }
        throttle.log(
            logger: logger, level: .warning, "Trace export is failing; spans are dropped (said once a minute)",
            metadata: [LogKey.error: "\(detail.prefix(300))"])
    }

    /// A count the library wrote, bounded.
    private static func count(_ value: Logger.Metadata.Value?) -> Int {
        guard let value, let count = Int("\(value)"), count > 0 else { return 0 }
        return min(count, 1_000_000)
    }
}
