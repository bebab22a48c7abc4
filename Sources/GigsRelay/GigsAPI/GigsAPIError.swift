/// A failed Gigs API call, mapped to whether retrying can help.
public struct GigsAPIError: Error, Sendable, CustomStringConvertible {
    /// A short, secret-free sentence for the attempt record.
    public let message: String
    /// Whether the same call may succeed later (429, 5xx, network).
    public let isRetryable: Bool
    /// The server's `Retry-After`, when it gave one.
    public let retryAfter: Duration?

    public var description: String { message }
}
