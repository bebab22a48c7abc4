import NIOConcurrencyHelpers

/// Events stored and deliveries finished over the last fifteen minutes, in ten-second buckets, for the
/// console's rates. Memory is fixed: one ring of ``bucketCount`` buckets.
public final class ActivityRates: Sendable {
    /// What is counted.
    public enum Kind: Int, Sendable, CaseIterable {
        case received, delivered, failed
    }

    static let bucketMilliseconds: Int64 = 10_000
    static let bucketCount = 90

    private struct Bucket {
        /// The bucket's start, in buckets since the epoch; a stale bucket is reset before use.
        var index: Int64 = -1
        var counts = [Int](repeating: 0, count: Kind.allCases.count)
    }

    private let buckets = NIOLockedValueBox([Bucket](repeating: Bucket(), count: bucketCount))

    public init() {}

    /// Counts one of `kind` at `now` (Unix ms).
    public func record(_ kind: Kind, now: Int64 = unixMilliseconds()) {
        let index = now / Self.bucketMilliseconds
        let slot = Int(index % Int64(Self.bucketCount))
        buckets.withLockedValue { buckets in
            if buckets[slot].index != index { buckets[slot] = Bucket(index: index) }
            buckets[slot].counts[kind.rawValue] += 1
        }
    }

    /// The mean rate per second of `kind` over the last `minutes` (at most 15), up to `now`.
    public func perSecond(_ kind: Kind, minutes: Int, now: Int64 = unixMilliseconds()) -> Double {
        let span = Int64(min(max(minutes, 1), 15)) * 60_000
        let newest = now / Self.bucketMilliseconds
        let oldest = (now - span) / Self.bucketMilliseconds
        let total = buckets.withLockedValue { buckets in
            buckets.reduce(0) { sum, bucket in
                bucket.index > oldest && bucket.index <= newest ? sum + bucket.counts[kind.rawValue] : sum
            }
        }
        return Double(total) * 1000 / Double(span)
    }
}
