import NIOConcurrencyHelpers

/// How an SQLite commit reaches the disk (`PRAGMA synchronous`): see `EventWriter.durability(storingData:)`.
package enum CommitDurability: String, Sendable {
    /// The commit returns once the WAL is on the disk: every batch that stores events.
    case full = "FULL"
    /// The commit returns once the WAL is written to the operating system: batches of claims and attempt
    /// results only.
    case normal = "NORMAL"

    /// The longest a claim or attempt result waits for a flush to the disk (ms): a busy writer's next
    /// `FULL` commit, or an idle writer's checkpoint.
    static let flushEvery: Int64 = 200
}

/// Commits of the writer thread by durability, and whether one waits for a flush (the writer's own
/// record of it, readable by tests).
package final class CommitCounts: Sendable {
    private let counts = NIOLockedValueBox((full: 0, normal: 0, flushes: 0, unflushed: false))

    package var full: Int { counts.withLockedValue { $0.full } }
    package var normal: Int { counts.withLockedValue { $0.normal } }
    /// Flushes of an idle writer after `normal` commits.
    package var flushes: Int { counts.withLockedValue { $0.flushes } }
    /// Whether a `normal` commit that changed something waits for a flush.
    package var unflushed: Bool { counts.withLockedValue { $0.unflushed } }

    func countFlush() {
        counts.withLockedValue { counts in
            counts.flushes += 1
            counts.unflushed = false
        }
    }

    func count(_ durability: CommitDurability, unflushed: Bool) {
        counts.withLockedValue { counts in
            switch durability {
            case .full: counts.full += 1
            case .normal: counts.normal += 1
            }
            counts.unflushed = unflushed
        }
    }
}
