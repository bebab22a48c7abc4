/// The W3C trace context (`traceparent`, `tracestate`) of an event's ingest span, stored with the event so
/// that every delivery attempt, on whichever instance and however much later, joins the event's trace.
public struct TraceContext: Sendable, Equatable {
    /// `00-<trace id>-<parent id>-<flags>`.
    public let traceparent: String
    /// Vendor state carried along with it, when there is any.
    public let tracestate: String?

    /// The longest `tracestate` kept (W3C's limit for propagating it).
    static let maximumStateLength = 512

    /// Accepts a well-formed version-00 `traceparent` (and a bounded `tracestate` of visible ASCII);
    /// anything else is nil, so nothing malformed is stored or passed on.
    public init?(traceparent: String, tracestate: String? = nil) {
        let bytes = Array(traceparent.utf8)
        guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
            bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
            Self.isHex(bytes[3..<35]), Self.isHex(bytes[36..<52]), Self.isHex(bytes[53..<55]),
            bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") }),
            bytes[36..<52].contains(where: { $0 != UInt8(ascii: "0") })
        else { return nil }
        self.traceparent = traceparent
        if let tracestate, !tracestate.isEmpty, tracestate.utf8.count <= Self.maximumStateLength,
            tracestate.utf8.allSatisfy({ (0x20...0x7e).contains($0) })
        {
            self.tracestate = tracestate
        } else {
            self.tracestate = nil
        }
    }

    /// The trace id: 32 lower-case hex digits.
    public var traceID: String { String(traceparent.dropFirst(3).prefix(32)) }

    /// Whether the event was sampled (its attempts are traced too).
    public var isSampled: Bool { (UInt8(traceparent.suffix(2), radix: 16) ?? 0) & 1 == 1 }

    /// As the store keeps it: the `traceparent`, then the `tracestate` on a line of its own.
    public var stored: String { tracestate.map { "\(traceparent)\n\($0)" } ?? traceparent }

    /// Reads the stored form back; nil for anything that is not one.
    public init?(stored: String?) {
        guard let stored else { return nil }
        let lines = stored.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        self.init(traceparent: String(lines[0]), tracestate: lines.count > 1 ? String(lines[1]) : nil)
    }

    /// The headers that carry it to a downstream (W3C Trace Context).
    public var headers: [(name: String, value: String)] {
        [("traceparent", traceparent)] + (tracestate.map { [("tracestate", $0)] } ?? [])
    }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
        }
    }
}
