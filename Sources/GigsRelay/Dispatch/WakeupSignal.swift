import NIOConcurrencyHelpers

/// Wakes the dispatcher when there may be work: jobs were handed over, or deliveries may be due that
/// only a claim finds (new pending ones, a finished attempt that frees a subject or a backlog's room).
///
/// A signal given while nobody waits is remembered, so a wake-up is never lost between a claim and the
/// following wait; signals given meanwhile merge (a claim includes a hand-off). One waiter at a time.
public final class WakeupSignal: Sendable {
    /// Why the dispatcher is woken.
    public enum Reason: Sendable, Comparable {
        /// Jobs were handed over (``DeliveryHandOff``): start them, no claim needed.
        case handOff
        /// Something may be due that only a claim finds.
        case claim
    }

    private struct State {
        var signalled: Reason?
        var waiter: CheckedContinuation<Reason?, Never>?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Wakes the waiter, or the next call to ``wait(timeout:)``.
    public func signal(_ reason: Reason = .claim) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Reason?, Never>? in
            guard let waiter = state.waiter else {
                state.signalled = max(state.signalled ?? reason, reason)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: reason)
    }

    /// Returns why it was signalled, or nil after `timeout` or when the task is cancelled, whichever
    /// comes first (nil: the caller claims).
    @discardableResult
    public func wait(timeout: Duration) async -> Reason? {
        if let reason = state.withLockedValue({ state in
            defer { state.signalled = nil }; return state.signalled
        }) {
            return reason
        }
        return await withTaskGroup(of: Reason?.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let reason = await group.next() ?? nil
            group.cancelAll()
            // A signal that lost the race to the timeout is dropped: a timeout means a claim, which does
            // what any signal asks.
            return reason
        }
    }

    private func waitForSignal() async -> Reason? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Reason?, Never>) in
                let resumeNow = state.withLockedValue { state -> Reason?? in
                    if let reason = state.signalled {
                        state.signalled = nil
                        return .some(reason)
                    }
                    if Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let reason = resumeNow { continuation.resume(returning: reason) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Reason?, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
