import Foundation
import HTTPTypes
import Instrumentation
import Logging
import OTel
import OTelSemanticConventions
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces (apple/swift-distributed-tracing, exported by swift-otel over OTLP/HTTP): one
/// trace per event, from the webhook (a server span, with the store append beneath it) to every delivery
/// attempt, which continues the trace context stored with the event (``TraceContext``).
///
/// Off (no `[tracing]` table) it holds no tracer, and every call returns at once without allocating:
/// ingest and dispatch pay one branch.
public struct RelayTracing: Sendable {
    private let tracer: (any Tracer)?
    /// `[tracing] ui_url`.
    private let linkTemplate: String?

    /// No tracing.
    public static let off = RelayTracing(tracer: nil, linkTemplate: nil)

    private init(tracer: (any Tracer)?, linkTemplate: String?) {
        self.tracer = tracer
        self.linkTemplate = linkTemplate
    }

    /// A trace in the viewer of `[tracing] ui_url`; nil without one.
    func link(traceID: String) -> String? {
        linkTemplate?.replacingOccurrences(of: "{trace_id}", with: traceID)
    }

    /// Whether spans are made at all.
    public var isOn: Bool { tracer != nil }

    /// The tracer of `[tracing]` and the service that exports its spans (to run first in the daemon's
    /// group, so that it stops last and sends the final spans); ``off`` and nil without the table.
    ///
    /// Spans wait in a bounded queue (`max_queued_spans`) and go in batches; what a full queue or a failed
    /// export loses is counted in `gigs_relay_trace_spans_dropped_total` and logged at most once a minute
    /// (``TraceExportDiagnostics``). `OTEL_*` environment variables override the file, as OpenTelemetry
    /// specifies.
    static func make(
        _ configuration: RelayConfiguration.Tracing?, environment: [String: String], metrics: RelayMetrics,
        logger: Logger
    ) throws(ConfigurationError) -> (tracing: RelayTracing, service: (any Service)?) {
        guard let configuration else { return (.off, nil) }
        var otel = OTel.Configuration.default
        otel.serviceName = configuration.serviceName
        otel.metrics.enabled = false
        otel.logs.enabled = false
        otel.propagators = [.traceContext]
        otel.diagnosticLogger = .custom(
            Logger(label: logger.label) { _ in TraceExportDiagnostics(metrics: metrics, logger: logger) })
        otel.diagnosticLogLevel = .warning
        guard
            let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(
                ratio: configuration.sampleRatio)
        else {
            throw ConfigurationError(key: "tracing.sample_ratio", "must be between 0 and 1")
        }
        otel.traces.sampler = sampler
        let timeout = Duration.seconds(configuration.exportTimeoutSeconds)
        otel.traces.batchSpanProcessor.maxQueueSize = configuration.maxQueuedSpans
        otel.traces.batchSpanProcessor.maxExportBatchSize = min(512, configuration.maxQueuedSpans)
        otel.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        otel.traces.batchSpanProcessor.exportTimeout = timeout
        otel.traces.otlpExporter.endpoint = configuration.endpoint.absoluteString
        otel.traces.otlpExporter.timeout = timeout
        otel.traces.otlpExporter.headers = try configuration.resolvedHeaders(environment: environment)
        do {
            let backend = try OTel.makeTracingBackend(configuration: otel)
            return (RelayTracing(tracer: backend.factory, linkTemplate: configuration.uiURL), backend.service)
        } catch {
            throw ConfigurationError(key: "tracing", "cannot start the trace exporter: \(error)")
        }
    }

    /// Starts a span beneath `parent`; nil when off.
    func startSpan(_ name: String, kind: SpanKind, parent: ServiceContext) -> (any Span)? {
        guard let tracer else { return nil }
        return tracer.startSpan(name, context: parent, ofKind: kind)
    }

    /// What a request's `traceparent` and `tracestate` continue (a proxy's trace), else a new trace.
    func context(of headers: HTTPFields) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let tracer, headers[.traceparent] != nil else { return context }
        tracer.extract(headers, into: &context, using: HTTPFieldsExtractor())
        return context
    }

    /// What an attempt continues: the event's stored trace context, else a new trace (an event stored
    /// before tracing was on).
    func context(continuing stored: TraceContext?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let tracer, let stored else { return context }
        tracer.extract(stored, into: &context, using: TraceContextExtractor())
        return context
    }

    /// A span's context as W3C headers; nil when off.
    func traceContext(of span: any Span) -> TraceContext? {
        guard let tracer else { return nil }
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        guard let traceparent = headers["traceparent"] else { return nil }
        return TraceContext(traceparent: traceparent, tracestate: headers["tracestate"])
    }

    /// The span of one delivery attempt, continuing its event's trace; nil when off.
    func attempt(_ job: DeliveryJob, kind: String) -> AttemptTrace? {
        guard
            let span = startSpan("deliver \(job.action)", kind: .client, parent: context(continuing: job.traceContext))
        else { return nil }
        span.attributes[TraceAttribute.action] = job.action
        span.attributes[TraceAttribute.actionKind] = kind
        span.attributes[TraceAttribute.attempt] = job.attempt
        span.attributes[TraceAttribute.deliveryID] = job.id.rawValue
        span.attributes[TraceAttribute.eventID] = job.eventID.rawValue
        span.attributes[TraceAttribute.eventType] = job.eventType
        return AttemptTrace(tracing: self, span: span, context: traceContext(of: span))
    }
}

/// One delivery attempt's span, handed to its action: the action describes what it did on it (an HTTP
/// status, an exit status), starts child spans for its own calls (the Gigs API, an SMTP session), and
/// passes ``context`` to the downstream.
public struct AttemptTrace: Sendable {
    let tracing: RelayTracing
    let span: any Span
    /// The attempt span's W3C context: what an `http` action sends as `traceparent` and `tracestate`, and
    /// an `exec` action as `TRACEPARENT`.
    public let context: TraceContext?

    /// Sets an attribute of the attempt span.
    func set(_ name: String, _ value: some SpanAttributeConvertible) {
        span.attributes[name] = value
    }

    /// Records how the attempt ended and ends its span: a retry or a dead delivery is an error. Without
    /// the error's text: a mail server's reply may quote the address, a downstream's the body (the store
    /// seals those texts for the same reason).
    func end(_ outcome: AttemptOutcome) {
        span.attributes[TraceAttribute.outcome] = outcome.label
        switch outcome {
        case .retry(_, let nextAttemptAt):
            span.attributes[TraceAttribute.retryAt] = nextAttemptAt
            span.setStatus(SpanStatus(code: .error))
        case .dead:
            span.setStatus(SpanStatus(code: .error))
        case .succeeded, .skipped, .released:
            break
        }
        span.end()
    }

    /// Runs `body` inside a client span beneath the attempt (`GET /subscriptions/{subscription}`, `SMTP
    /// session`); the span records whether it threw, never what.
    func child<Value, Failure: Error>(
        _ name: String, attributes: [(String, String)], _ body: () async throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        let child = tracing.startSpan(name, kind: .client, parent: span.context)
        for (key, value) in attributes { child?.attributes[key] = value }
        do {
            let value = try await body()
            child?.end()
            return value
        } catch {
            child?.attributes[OTelAttribute.error.type] = "\(type(of: error))"
            child?.setStatus(SpanStatus(code: .error))
            child?.end()
            throw error
        }
    }
}

/// Reads `traceparent` and `tracestate` from request headers.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        return carrier[name]
    }
}

/// Reads a stored ``TraceContext``.
struct TraceContextExtractor: Extractor {
    func extract(key: String, from carrier: TraceContext) -> String? {
        switch key {
        case "traceparent": carrier.traceparent
        case "tracestate": carrier.tracestate
        default: nil
        }
    }
}

/// Collects what the propagator writes.
struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

extension HTTPField.Name {
    static let traceparent = HTTPField.Name("traceparent")!
}

extension DeliveryJob {
    /// Runs `body` in a client span beneath the attempt's span when the attempt is traced, else as it is.
    func traced<Value, Failure: Error>(
        _ name: String, attributes: [(String, String)] = [], _ body: () async throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        guard let trace else { return try await body() }
        return try await trace.child(name, attributes: attributes, body)
    }
}
