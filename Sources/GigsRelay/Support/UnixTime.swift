import Foundation

/// Unix milliseconds of a date (the store's timestamps).
public func unixMilliseconds(_ date: Date = Date()) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
}

extension Date {
    /// The date of Unix milliseconds (the store's timestamps).
    init(unixMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded down, saturating at the bounds of `Int64` instead of
    /// trapping: a duration built from a peer's number can be far larger than any real delay.
    package var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAdding) = milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !overflowAdding else { return seconds < 0 ? .min : .max }
        return total
    }
}

extension Int64 {
    /// `self + other`, saturating instead of trapping.
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other < 0 ? .min : .max) : sum
    }
}

/// A span of time written as a whole number and a unit (`30d`, `72h`, `90m`, `45s`), as the CLI's
/// `--since` and `--older-than` and `[reconcile]`'s keys take it.
public enum TimeSpan {
    /// The units, in milliseconds.
    static let units: [Character: Int64] = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000]
    /// What the error messages say a span looks like.
    public static let form = "a number and a unit (d, h, m or s), e.g. 30d"

    /// The span in milliseconds; nil for anything else (a negative number, an unknown unit, an overflow).
    public static func milliseconds(_ text: String) -> Int64? {
        guard let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count >= 0,
            case (let milliseconds, false) = count.multipliedReportingOverflow(by: unit)
        else { return nil }
        return milliseconds
    }
}
