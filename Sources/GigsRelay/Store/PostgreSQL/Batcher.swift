import NIOConcurrencyHelpers

/// Group commit for the PostgreSQL store's hot writes (appends, attempt results): calls that arrive while
/// a statement runs wait for the next one and share it, as the SQLite writer's batches do. At most
/// ``committers`` statements are in flight at once (each on its own pooled connection), each of at most
/// ``maxBatch`` items.
///
/// Every call has a deadline: one reaper task fails calls older than ``deadline`` with
/// `store_unavailable` (the database unreachable or stalled), so no caller waits on a dead connection. A
/// statement that commits after its callers were failed is harmless: a repeated append is a duplicate,
/// and a repeated attempt result is fenced by attempt.
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    /// One waiting call, answered once: by its statement or by the reaper.
    final class Call: Sendable {
        let input: Input
        let since: ContinuousClock.Instant
        private let continuation: NIOLockedValueBox<CheckedContinuation<Result<Output, StoreError>, Never>?>

        init(_ input: Input, continuation: CheckedContinuation<Result<Output, StoreError>, Never>) {
            self.input = input
            self.since = .now
            self.continuation = NIOLockedValueBox(continuation)
        }

        func answer(_ result: Result<Output, StoreError>) {
            let continuation = continuation.withLockedValue { continuation in
                defer { continuation = nil }
                return continuation
            }
            continuation?.resume(returning: result)
        }
    }

    private struct State {
        var queue: [Call] = []
        /// Batches being committed, by a number.
        var inFlight: [Int: [Call]] = [:]
        var nextBatch = 0
        var committing = 0
        var closed = false
        var reaper: Task<Void, Never>?
    }

    static var maxBatch: Int { 512 }
    private let committers: Int
    private let deadline: Duration
    private let state = NIOLockedValueBox(State())
    /// Writes one batch; returns one output per input, in order, or throws for the whole batch.
    private let commit: @Sendable ([Input]) async throws(StoreError) -> [Output]

    init(
        committers: Int,
        deadline: Duration,
        commit: @escaping @Sendable ([Input]) async throws(StoreError) -> [Output]
    ) {
        self.committers = committers
        self.deadline = deadline
        self.commit = commit
    }

    /// Queues `input` and waits for the statement that holds it (or the deadline).
    func submit(_ input: Input) async throws(StoreError) -> Output {
        let result = await withCheckedContinuation { continuation in
            let call = Call(input, continuation: continuation)
            let start: Bool? = state.withLockedValue { state in
                guard !state.closed else { return nil }
                state.queue.append(call)
                if state.reaper == nil { state.reaper = Task { [weak self] in await self?.reap() } }
                guard state.committing < committers else { return false }
                state.committing += 1
                return true
            }
            switch start {
            case nil: call.answer(.failure(.closed))
            case true?: Task { await self.drain() }
            case false?: break
            }
        }
        return try result.get()
    }

    /// Commits batches until the queue is empty.
    private func drain() async {
        while let (number, batch) = nextBatch() {
            let result: Result<[Output], StoreError>
            do {
                let outputs = try await commit(batch.map(\.input))
                result = .success(outputs)
            } catch {
                result = .failure(error)
            }
            _ = state.withLockedValue { $0.inFlight.removeValue(forKey: number) }
            switch result {
            case .success(let outputs):
                for (call, output) in zip(batch, outputs) { call.answer(.success(output)) }
            case .failure(let error):
                for call in batch { call.answer(.failure(error)) }
            }
        }
    }

    private func nextBatch() -> (Int, [Call])? {
        state.withLockedValue { state in
            guard !state.queue.isEmpty else {
                state.committing -= 1
                return nil
            }
            let count = min(state.queue.count, Self.maxBatch)
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            state.nextBatch &+= 1
            state.inFlight[state.nextBatch] = batch
            return (state.nextBatch, batch)
        }
    }

    /// Every half second: fails the calls, queued or in flight, that have waited past the deadline.
    private func reap() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            let cutoff = ContinuousClock.now - deadline
            let late: [Call] = state.withLockedValue { state in
                // Late queued calls leave the queue too: while the committers hang on a dead connection,
                // what waits must not grow with every request that arrives.
                var late = state.queue.filter { $0.since < cutoff }
                state.queue.removeAll { $0.since < cutoff }
                for batch in state.inFlight.values where batch.first.map({ $0.since < cutoff }) == true {
                    late += batch
                }
                return late
            }
            let timedOut = StoreError.unavailable(detail: PostgresStoreFailure.timedOut(deadline).description)
            for call in late { call.answer(.failure(timedOut)) }
        }
    }

    /// Refuses new calls; queued ones are still committed.
    func close() {
        state.withLockedValue { $0.closed = true }
    }

    /// Waits (up to 5 s) until nothing is queued or committing, then stops the reaper.
    func finish() async {
        for _ in 0..<200 where !isIdle {
            try? await Task.sleep(for: .milliseconds(25))
        }
        state.withLockedValue { $0.reaper }?.cancel()
    }

    private var isIdle: Bool {
        state.withLockedValue { $0.queue.isEmpty && $0.committing == 0 }
    }
}
