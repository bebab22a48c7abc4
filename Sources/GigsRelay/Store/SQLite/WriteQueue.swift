import Foundation

/// The hand-off between request tasks and the store's writer thread.
///
/// Requests enqueue and suspend; the writer thread blocks until work arrives, takes everything queued
/// (up to a batch limit) and answers each request after the batch's commit returns.
final class WriteQueue: @unchecked Sendable {
    // Safe because every mutable property below is read and written only while `condition` is locked.

    /// A suspended caller waiting for its operation's commit.
    typealias Reply<Value: Sendable> = CheckedContinuation<Result<Value, StoreError>, Never>

    /// One queued write; the writer answers it after the commit that holds it.
    enum Operation {
        /// Store an event and, when it is new, one pending delivery per action.
        case append(VerifiedEvent, deliveries: [NewDelivery], reply: Reply<AppendResult>)
        /// Claim due deliveries for the dispatcher.
        case claim(ClaimRequest, reply: Reply<Claim>)
        /// Record a finished attempt.
        case finish(AttemptRecord, reply: Reply<Bool>)
        /// Read the monitor's counts; with `probeBytes`, also write that many bytes, to prove the disk
        /// takes a write as large as the largest event.
        case stats(probeBytes: Int?, reply: Reply<StoreStats>)
        /// Remove one batch of old, finished events (retention).
        case prune(before: Int64, limit: Int, reply: Reply<Int>)
        /// Record an action's circuit breaker change.
        case recordCircuit(CircuitChange, reply: Reply<Void>)
        /// Count the subjects of these actions that a dead delivery holds.
        case blockedSubjects(actions: [String], reply: Reply<BlockedSubjects>)

        /// Whether it stores data that must be on the disk before its caller is answered: an event, or the
        /// disk probe's bytes (claims, results and the rest may wait for a later flush).
        var storesData: Bool {
            switch self {
            case .append: true
            case .stats(let probeBytes, _): probeBytes != nil
            default: false
            }
        }

        /// Answers the caller with a failure.
        func fail(_ error: StoreError) {
            switch self {
            case .append(_, _, let reply): reply.resume(returning: .failure(error))
            case .claim(_, let reply): reply.resume(returning: .failure(error))
            case .finish(_, let reply): reply.resume(returning: .failure(error))
            case .stats(_, let reply): reply.resume(returning: .failure(error))
            case .prune(_, _, let reply): reply.resume(returning: .failure(error))
            case .recordCircuit(_, let reply): reply.resume(returning: .failure(error))
            case .blockedSubjects(_, let reply): reply.resume(returning: .failure(error))
            }
        }
    }

    private let condition = NSCondition()
    private var pending: [Operation] = []
    private var isClosing = false
    private var isFinished = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []

    /// Queues an operation; false when the store is closing (the caller answers it as closed).
    func enqueue(_ item: Operation) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !isClosing else { return false }
        pending.append(item)
        condition.signal()
        return true
    }

    /// Blocks the writer thread until work is queued; nil once the store is closing and drained. With
    /// `idle`, waits at most that long and returns an empty batch when nothing came.
    func nextBatch(limit: Int, idle: Duration? = nil) -> [Operation]? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = idle.map { Date(timeIntervalSinceNow: Double($0.wholeMilliseconds) / 1000) }
        while pending.isEmpty && !isClosing {
            if let deadline {
                if !condition.wait(until: deadline) && pending.isEmpty && !isClosing { return [] }
            } else {
                condition.wait()
            }
        }
        guard !pending.isEmpty else { return nil }
        let count = min(limit, pending.count)
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        return batch
    }

    /// Refuses further appends; the writer drains what is queued and stops.
    func requestClose() {
        condition.lock()
        isClosing = true
        condition.signal()
        condition.unlock()
    }

    /// Suspends until the writer thread has stopped and closed the database.
    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if isFinished {
                condition.unlock()
                continuation.resume()
            } else {
                closeWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// Called by the writer thread as its last act.
    func markFinished() {
        condition.lock()
        isFinished = true
        let waiters = closeWaiters
        closeWaiters = []
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }
}
