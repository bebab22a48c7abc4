import Foundation
import Testing

@testable import GigsRelay

/// The stored trace context and `[tracing]`'s parsing, without a daemon.
@Suite("Tracing: trace context and configuration")
struct TracingTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test("A well-formed traceparent is kept with a bounded tracestate; anything else is refused")
    func traceContext() throws {
        let context = try #require(TraceContext(traceparent: Self.parent, tracestate: "vendor=a1"))
        #expect(context.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(context.isSampled)
        #expect(TraceContext(stored: context.stored) == context)
        #expect(context.headers.map(\.name) == ["traceparent", "tracestate"])
        #expect(TraceContext(traceparent: String(Self.parent.dropLast()) + "0")?.isSampled == false)
        for malformed in [
            "", "00", String(Self.parent.dropLast()), Self.parent + "0",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-0",
        ] {
            #expect(TraceContext(traceparent: malformed) == nil, "\(malformed)")
        }
        // A state too long, or with a line break, is dropped, the parent kept.
        #expect(
            TraceContext(traceparent: Self.parent, tracestate: String(repeating: "a", count: 513))?.tracestate == nil)
        #expect(TraceContext(traceparent: Self.parent, tracestate: "a=1\nb=2")?.tracestate == nil)
        #expect(TraceContext(stored: "garbage") == nil)
        #expect(TraceContext(stored: nil) == nil)
    }

    func configuration(_ tracing: String) throws(ConfigurationError) -> RelayConfiguration {
        try RelayConfiguration(toml: "[webhook]\nsecrets = [\"env:S\"]\n[tracing]\n\(tracing)")
    }

    @Test("[tracing]: the traces path is added to a bare endpoint, secrets stay references, bad values are named")
    func configurationKeys() throws {
        #expect(try RelayConfiguration(toml: "[webhook]\nsecrets = [\"env:S\"]").tracing == nil)
        let tracing = try #require(
            try configuration(
                """
                otlp_endpoint = "http://127.0.0.1:4318"
                headers = { "authorization" = "env:OTLP_AUTH", "x-tenant" = "relay" }
                ui_url = "http://jaeger:16686/trace/{trace_id}"
                """
            ).tracing)
        #expect(tracing.endpoint.absoluteString == "http://127.0.0.1:4318/v1/traces")
        #expect(tracing.sampleRatio == 1)
        #expect(tracing.serviceName == "gigs-relay")
        #expect(
            try configuration("otlp_endpoint = \"https://otel.example.com/custom/path\"").tracing?.endpoint
                .absoluteString == "https://otel.example.com/custom/path")
        let resolved = try tracing.resolvedHeaders(environment: ["OTLP_AUTH": "Bearer t"])
        #expect(resolved.map(\.0) == ["authorization", "x-tenant"] && resolved.map(\.1) == ["Bearer t", "relay"])
        #expect(try configuration("otlp_endpoint = \"http://127.0.0.1:4318\"").effectiveTOML.contains("[tracing]"))
        for (toml, key) in [
            ("sample_ratio = 0.5", "tracing.otlp_endpoint"),
            ("otlp_endpoint = \"http://collector.example.com:4318\"", "tracing.otlp_endpoint"),
            ("otlp_endpoint = \"http://127.0.0.1:4318\"\nsample_ratio = 1.5", "tracing.sample_ratio"),
            (
                "otlp_endpoint = \"http://127.0.0.1:4318\"\nheaders = { \"Authorization\" = \"Bearer x\" }",
                "tracing.headers.Authorization"
            ),
            ("otlp_endpoint = \"http://127.0.0.1:4318\"\nui_url = \"http://jaeger/trace\"", "tracing.ui_url"),
            ("otlp_endpoint = \"http://127.0.0.1:4318\"\nsampling = 1", "tracing.sampling"),
        ] {
            let error = #expect(throws: ConfigurationError.self, "\(toml)") { try configuration(toml) }
            #expect(error?.key == key, "\(toml): \(String(describing: error))")
        }
    }
}
