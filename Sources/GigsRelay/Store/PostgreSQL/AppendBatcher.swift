import NIOConcurrencyHelpers

/// Group commit for PostgreSQL appends: requests that arrive while a transaction commits wait for the
/// next one and share it, as the SQLite writer's batches do. At most ``committers`` transactions are in
/// flight at once (each on its own pooled connection), each of at most ``maxBatch`` events.
final class AppendBatcher: Sendable {
    struct Item: Sendable {
        let event: VerifiedEvent
        let actions: [String]
        let reply: CheckedContinuation<Result<AppendResult, StoreError>, Never>
    }

    private struct State {
        var queue: [Item] = []
        var committing = 0
        var closed = false
    }

    static let maxBatch = 512
    private let committers: Int
    private let state = NIOLockedValueBox(State())
    /// Commits one batch and answers every item of it, success or failure.
    private let commit: @Sendable ([Item]) async -> Void

    init(committers: Int, commit: @escaping @Sendable ([Item]) async -> Void) {
        self.committers = committers
        self.commit = commit
    }

    /// Queues the event and waits for the commit that holds it.
    func append(_ event: VerifiedEvent, actions: [String]) async -> Result<AppendResult, StoreError> {
        await withCheckedContinuation { continuation in
            let item = Item(event: event, actions: actions, reply: continuation)
            let startCommitter: Bool? = state.withLockedValue { state in
                guard !state.closed else { return nil }
                state.queue.append(item)
                guard state.committing < committers else { return false }
                state.committing += 1
                return true
            }
            switch startCommitter {
            case nil: continuation.resume(returning: .failure(.closed))
            case true?: Task { await self.drain() }
            case false?: break
            }
        }
    }

    /// Commits batches until the queue is empty.
    private func drain() async {
        while let batch = nextBatch() {
            await commit(batch)
        }
    }

    private func nextBatch() -> [Item]? {
        state.withLockedValue { state in
            guard !state.queue.isEmpty else {
                state.committing -= 1
                return nil
            }
            let count = min(state.queue.count, Self.maxBatch)
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            return batch
        }
    }

    /// Refuses new appends; queued ones are still committed.
    func close() {
        state.withLockedValue { $0.closed = true }
    }

    /// Whether nothing is queued or committing.
    var isIdle: Bool {
        state.withLockedValue { $0.queue.isEmpty && $0.committing == 0 }
    }
}
