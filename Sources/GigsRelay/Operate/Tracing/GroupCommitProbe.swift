import Synchronization

/// Where the store's writer notes how many events the group commit that stored one held, for that event's
/// store span. Only a traced append carries one.
package final class GroupCommitProbe: Sendable {
    private let size = Atomic<Int>(0)

    package init() {}

    /// The writer: the commit holds `events` appends.
    package func committed(with events: Int) {
        size.store(events, ordering: .relaxed)
    }

    /// Appends in the commit (0 before it).
    package var batchSize: Int { size.load(ordering: .relaxed) }
}
