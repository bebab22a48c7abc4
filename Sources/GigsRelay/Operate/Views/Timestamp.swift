import Foundation

/// How the operator views write times: UTC ISO 8601 with milliseconds (`2026-11-27T10:00:00.000Z`).
public enum Timestamp {
    public static func iso8601(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// A time the store keeps as Unix milliseconds.
    public static func iso8601(milliseconds: Int64) -> String {
        iso8601(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
