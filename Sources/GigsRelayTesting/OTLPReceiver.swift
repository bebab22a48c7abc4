import Foundation

/// One span the receiver got, as `Tests/Support/otlp_receiver.py` decoded it.
public struct ExportedSpan: Decodable, Sendable {
    public let traceId: String
    public let spanId: String
    public let parentSpanId: String
    public let name: String
    /// OTLP's `SpanKind`: 1 internal, 2 server, 3 client.
    public let kind: Int
    /// OTLP's `Status.code`: 0 unset, 1 ok, 2 error.
    public let status: Int
    public let service: String
    /// Every value as text (`true`, `503`, …).
    public let attributes: [String: String]
}

/// A real OTLP/HTTP collector (`Tests/Support/otlp_receiver.py`, decoding with the `opentelemetry-proto`
/// package) run as a child process: it records every span and the raw bytes it was sent, and answers
/// normally, with errors, or never.
public final class OTLPReceiver: Sendable {
    public enum Mode: String, Sendable {
        case ok
        case error
        case blackhole
    }

    public let port: Int
    private let process: Process
    private let directory = TemporaryDirectory(prefix: "gigs-relay-otlp")

    public init(mode: Mode = .ok) throws {
        try mode.rawValue.write(toFile: directory.file("mode"), atomically: true, encoding: .utf8)
        let helper = try HelperProcess(
            script: "otlp_receiver.py",
            arguments: [
                "--record", directory.file("spans.jsonl"), "--raw", directory.file("raw"), "--mode-file",
                directory.file("mode"),
            ])
        self.process = helper.process
        self.port = helper.port
    }

    deinit {
        process.terminate()
        directory.remove()
    }

    /// The collector's base URL, as `otlp_endpoint` takes it.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Changes how the following requests are answered.
    public func setMode(_ mode: Mode) throws {
        try mode.rawValue.write(toFile: directory.file("mode"), atomically: true, encoding: .utf8)
    }

    /// Every span so far.
    public var spans: [ExportedSpan] {
        HelperProcess.records(ExportedSpan.self, in: directory.file("spans.jsonl"))
    }

    /// Every byte every export request carried.
    public var rawBytes: Data {
        (try? Data(contentsOf: URL(fileURLWithPath: directory.file("raw")))) ?? Data()
    }
}
