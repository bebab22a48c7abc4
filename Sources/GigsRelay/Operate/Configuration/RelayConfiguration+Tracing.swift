import Foundation

extension RelayConfiguration {
    /// `[tracing]`: OpenTelemetry traces, exported over OTLP/HTTP (``RelayTracing``). Absent: no tracing,
    /// and nothing of it runs.
    public struct Tracing: Sendable {
        /// Where spans are posted: the collector's `/v1/traces`.
        public var endpoint: URL
        /// Whether plain http to a collector that is not loopback is allowed.
        public var allowInsecure: Bool
        /// Share of events traced (head sampling per event: its attempts follow its decision).
        public var sampleRatio: Double
        /// `service.name` of every span.
        public var serviceName: String
        /// Request headers for the collector; a value may be a secret reference.
        public var headers: [String: HeaderValue]
        /// A trace viewer's URL with `{trace_id}` in it, for the console's link.
        public var uiURL: String?
        /// Finished spans held for export at most; more are dropped and counted.
        public var maxQueuedSpans: Int
        /// How long one export may take before its spans are given up.
        public var exportTimeoutSeconds: Int
    }
}

extension RelayConfiguration.Tracing {
    enum Keys {
        static let endpoint = ConfigKey.string(
            "otlp_endpoint", form: "URL", required: true, reload: .needsRestart,
            "the OTLP/HTTP collector (protobuf); `/v1/traces` is added to a URL without a path; https, or plain "
                + "http to a loopback host unless `allow_insecure`")
        static let allowInsecure = ConfigKey.bool(
            "allow_insecure", default: false, reload: .needsRestart,
            "plain http to a collector that is not loopback is allowed")
        static let sampleRatio = ConfigKey.number(
            "sample_ratio", in: 0...1, default: 1, reload: .needsRestart,
            "share of events traced, decided once per event at ingest (an incoming `traceparent` decides for "
                + "itself); every attempt of an event follows its decision")
        static let serviceName = ConfigKey.string(
            "service_name", form: "string", default: "gigs-relay", reload: .needsRestart,
            "the spans' `service.name`")
        static let headers = ConfigKey.table(
            "headers", form: "inline table of strings", reload: .needsRestart,
            "request headers for the collector; a value written `env:`, `file:` or `credential:` is a secret "
                + "reference, and `Authorization` takes nothing else")
        static let uiURL = ConfigKey.string(
            "ui_url", form: "URL with `{trace_id}`", reload: .needsRestart,
            "the console links an event's trace id here (a Jaeger or Tempo URL)")
        static let maxQueuedSpans = ConfigKey.integer(
            "max_queued_spans", in: 16...1_000_000, default: 2048, reload: .needsRestart,
            "finished spans waiting for export at most; beyond it spans are dropped and counted "
                + "(`gigs_relay_trace_spans_dropped_total`), never waited for")
        static let exportTimeoutSeconds = ConfigKey.integer(
            "export_timeout_seconds", in: 1...300, default: 10, reload: .needsRestart,
            "how long one export may take; a collector that does not answer costs its batch, never ingest")
    }

    static let section = ConfigSection(
        name: "tracing",
        summary:
            "OpenTelemetry traces over OTLP/HTTP: one trace per event, from the webhook to every delivery attempt. "
            + "Leave it out to trace nothing. See [tracing](tracing.md).",
        keys: [
            Keys.endpoint, Keys.allowInsecure, Keys.sampleRatio, Keys.serviceName, Keys.headers, Keys.uiURL,
            Keys.maxQueuedSpans, Keys.exportTimeoutSeconds,
        ])

    init(section: TOMLSection) throws(ConfigurationError) {
        allowInsecure = try section.read(Keys.allowInsecure)
        var endpoint = try section.url(Keys.endpoint, allowInsecure: allowInsecure)
        if endpoint.path.isEmpty || endpoint.path == "/" {
            endpoint = endpoint.appendingPathComponent("v1/traces")
        }
        self.endpoint = endpoint
        sampleRatio = try section.value(Keys.sampleRatio) ?? 1
        serviceName = try section.read(Keys.serviceName)
        var headers: [String: HeaderValue] = [:]
        for (name, text) in try section.stringTable(Keys.headers.name) ?? [:] {
            let key = section.key("\(Keys.headers.name).\(name)")
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw ConfigurationError(key: key, "is not a valid header name")
            }
            let value = try HeaderValue(parsing: text, key: key)
            if case .literal = value, HTTPActionSettings.credentialHeaders.contains(name.lowercased()) {
                // Reuse the reference parser's message: a credential never sits in the file.
                _ = try SecretReference(parsing: text, key: key)
            }
            headers[name] = value
        }
        self.headers = headers
        uiURL = try section.value(Keys.uiURL)
        if let uiURL, !uiURL.contains("{trace_id}") {
            throw ConfigurationError(key: section.key(Keys.uiURL), "must hold {trace_id}, where the trace id goes")
        }
        maxQueuedSpans = try section.read(Keys.maxQueuedSpans)
        exportTimeoutSeconds = try section.read(Keys.exportTimeoutSeconds)
    }

    /// The collector's headers, secrets read (at start).
    func resolvedHeaders(environment: [String: String]) throws(ConfigurationError) -> [(String, String)] {
        try headers.keys.sorted().map { (name) throws(ConfigurationError) in
            (name, try headers[name]!.resolve(key: "tracing.headers.\(name)", environment: environment))
        }
    }

    var effectiveKeys: [EffectiveKey] {
        let headerPairs = headers.keys.sorted().map { name in
            "\(TOMLText.quoted(name)) = \(TOMLText.quoted(headers[name]?.description ?? ""))"
        }
        return [
            Keys.endpoint.effective(endpoint.absoluteString), Keys.allowInsecure.effective(allowInsecure),
            Keys.sampleRatio.effective(sampleRatio), Keys.serviceName.effective(serviceName),
            Keys.headers.effective(headers.isEmpty ? nil : "{ " + headerPairs.joined(separator: ", ") + " }"),
            Keys.uiURL.effective(uiURL), Keys.maxQueuedSpans.effective(maxQueuedSpans),
            Keys.exportTimeoutSeconds.effective(exportTimeoutSeconds),
        ]
    }
}
