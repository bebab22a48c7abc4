/// A delivery's id (`dlv_42`): one event going to one action. Sent as `webhook-id` by http actions.
public struct DeliveryID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int64

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Parses `dlv_42` or `42`.
    public init?(parsing text: String) {
        let digits = text.hasPrefix("dlv_") ? text.dropFirst(4) : Substring(text)
        guard let value = Int64(digits), value > 0 else { return nil }
        self.rawValue = value
    }

    public var description: String { "dlv_\(rawValue)" }

    public static func < (lhs: DeliveryID, rhs: DeliveryID) -> Bool { lhs.rawValue < rhs.rawValue }
}
