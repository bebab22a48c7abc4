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
