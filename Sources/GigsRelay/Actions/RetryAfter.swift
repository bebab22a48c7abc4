import Foundation

/// Parses a peer's `Retry-After` (RFC 9110 §10.2.3) into a bounded delay.
///
/// The value comes from a downstream server or the Gigs API, so it is untrusted: any number of digits,
/// a negative number, a date centuries away or garbage must neither trap nor overflow. Delay seconds
/// and HTTP dates (IMF-fixdate, and the obsolete RFC 850 and asctime forms) are accepted; a date in the
/// past means "now"; anything else is ignored (nil). The result never exceeds ``maximum``, and the
/// retry policy caps it further at `backoff_max_ms`.
public enum RetryAfter {
    /// The longest delay a peer can ask for: the largest `backoff_max_ms` (7 days).
    public static let maximum: Duration = .seconds(7 * 24 * 3600)

    /// Longest header value read; a longer one is ignored without being scanned.
    static let maximumLength = 64

    /// The delay `value` asks for, or nil when it is not a valid `Retry-After`.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        guard value.utf8.count <= maximumLength else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.utf8.first else { return nil }
        if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
            return seconds(trimmed)
        }
        guard let date = httpDate(trimmed) else { return nil }
        let interval = date.timeIntervalSince(now)
        guard interval.isFinite, interval > 0 else { return .zero }
        let maximumSeconds = Double(maximum.components.seconds)
        return interval >= maximumSeconds ? maximum : .milliseconds(Int64(interval * 1000))
    }

    /// Delay seconds: digits only, saturating at ``maximum`` however many there are.
    private static func seconds(_ text: String) -> Duration? {
        let limit = maximum.components.seconds
        var total: Int64 = 0
        for byte in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            if total < limit { total = total * 10 + Int64(byte - UInt8(ascii: "0")) }
        }
        return .seconds(min(total, limit))
    }

    /// The three date forms of RFC 9110 §5.6.7, in GMT.
    private static let dateFormats = [
        "EEE, dd MMM yyyy HH:mm:ss zzz",
        "EEEE, dd-MMM-yy HH:mm:ss zzz",
        "EEE MMM d HH:mm:ss yyyy",
    ]

    private static func httpDate(_ text: String) -> Date? {
        // An HTTP-date is printable ASCII. Foundation's DateFormatter traps on some other text (a fuzzed
        // header of invalid UTF-8 stopped the process in CFRange), so nothing else reaches it.
        guard text.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in dateFormats {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
