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
