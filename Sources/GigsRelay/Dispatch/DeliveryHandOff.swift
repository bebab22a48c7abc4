import NIOConcurrencyHelpers

/// The link between the store and this instance's dispatcher: freshly stored deliveries leased straight
/// to the dispatcher, and the wake-ups for everything else.
///
/// The dispatcher offers room, per action and in all, for actions whose new deliveries may start at once
/// (unordered, no reorder window, not held back by its token bucket or circuit, no backlog of due
/// deliveries that should go first). The store's append takes from that offer inside its transaction:
/// it writes those deliveries `running` under a lease (their first attempt) instead of `pending`, and
/// after the commit hands their jobs over with the event's body from memory. So a delivery started this
/// way costs no claim: no query, no second transaction, no read of the body back. Everything else
/// (pending deliveries, retries, replays, other instances' work, expired leases) is found by the claim
/// as before, and every guarantee is the claim's: the lease fences the attempt's result, an attempt
/// that never finishes counts when its lease expires, and the room offered is room the claim would have
/// used.
///
/// The room stays exact without the dispatcher's help between its claims: a lease moves a unit of room
/// to the running attempts (``running``, which the claim's room is computed from), and a finished
/// attempt of an action that needs no claim gives it back (``replenish(_:)``).
public final class DeliveryHandOff: Sendable {
    private struct State {
        var rooms: [String: Int] = [:]
        var total = 0
        var leaseMilliseconds: Int64 = 0
        /// Actions whose finished attempts give their room back to the offer.
        var replenishable: Set<String> = []
        /// Jobs handed over and not yet started by the dispatcher.
        var jobs: [DeliveryJob] = []

        func hasRoom(for action: String) -> Bool { total > 0 && rooms[action, default: 0] > 0 }
    }

    private let state = NIOLockedValueBox(State())
    /// Wakes the dispatcher: jobs were handed over, or something may be due that only a claim finds.
    public let wakeup: WakeupSignal
    /// The dispatcher's attempts in flight. A delivery counts from the moment the store leases it, so a
    /// claim computing its room never misses one still on its way.
    let running = RunningAttempts()

    public init(wakeup: WakeupSignal = WakeupSignal()) {
        self.wakeup = wakeup
    }

    // MARK: The store's side

    /// Whether a new delivery may be handed over at all: unordered and due at `now` (Unix ms).
    private static func startsAtOnce(_ delivery: NewDelivery, now: Int64) -> Bool {
        delivery.subject == nil && delivery.dueAt <= now
    }

    /// Whether the dispatcher would take `delivery` now (a hint: ``lease(_:now:)`` decides).
    func isOffering(_ delivery: NewDelivery, now: Int64) -> Bool {
        Self.startsAtOnce(delivery, now: now) && state.withLockedValue { $0.hasRoom(for: delivery.action) }
    }

    /// When the lease ends (Unix ms) if the store may write `delivery` as running at `now` and hand it
    /// over, taking one unit of the offered room and counting it as running; nil when it must stay
    /// pending. A lease taken is either handed over with ``committed(handedOver:queued:)`` or cancelled
    /// with ``cancel(_:)``.
    func lease(_ delivery: NewDelivery, now: Int64) -> Int64? {
        guard Self.startsAtOnce(delivery, now: now) else { return nil }
        return state.withLockedValue { state in
            guard state.hasRoom(for: delivery.action) else { return nil }
            state.rooms[delivery.action, default: 0] -= 1
            state.total -= 1
            running.start(delivery.action)
            return now.saturatingAdd(state.leaseMilliseconds)
        }
    }

    /// A lease whose delivery was not stored after all (its transaction failed): no longer running. Its
    /// room is not given back (the dispatcher's next claim offers it again).
    func cancel(_ action: String) {
        running.finish(action)
        wakeup.signal(.claim)
    }

    /// After a commit: hands over the jobs of the deliveries it leased, and wakes the dispatcher, for a
    /// claim when the commit also queued pending deliveries.
    func committed(handedOver jobs: [DeliveryJob], queued: Bool) {
        if !jobs.isEmpty { state.withLockedValue { $0.jobs.append(contentsOf: jobs) } }
        if queued {
            wakeup.signal(.claim)
        } else if !jobs.isEmpty {
            wakeup.signal(.handOff)
        }
    }

    /// Pending deliveries were created (or may be due) that only a claim finds: another instance's, or
    /// ones the store did not lease.
    func deliveriesQueued() {
        wakeup.signal(.claim)
    }

    // MARK: The dispatcher's side

    /// The jobs handed over since the last call, to be started (they count as running already).
    package func takeJobs() -> [DeliveryJob] {
        state.withLockedValue { state in
            defer { state.jobs = [] }
            return state.jobs
        }
    }

    /// Withdraws the offer (before a claim, so the claim's room and the offer never overlap; nothing is
    /// offered until the next ``offer(_:total:leaseMilliseconds:replenishable:)``) and returns the jobs
    /// handed over meanwhile.
    package func withdraw() -> [DeliveryJob] {
        state.withLockedValue { state in
            state.rooms = [:]
            state.total = 0
            state.replenishable = []
            defer { state.jobs = [] }
            return state.jobs
        }
    }

    /// Offers room to the store's next appends, replacing the previous offer.
    package func offer(_ rooms: [String: Int], total: Int, leaseMilliseconds: Int64, replenishable: Set<String>) {
        state.withLockedValue { state in
            state.rooms = rooms
            state.total = total
            state.leaseMilliseconds = leaseMilliseconds
            state.replenishable = replenishable
        }
    }

    /// An attempt of `action` finished: when the action's room comes back by itself (see ``offer``),
    /// gives it back to the offer and returns true; false when the dispatcher must think again.
    func replenish(_ action: String) -> Bool {
        state.withLockedValue { state in
            guard state.replenishable.contains(action) else { return false }
            state.rooms[action, default: 0] += 1
            state.total += 1
            return true
        }
    }

    /// Takes `action` out of the offer (its circuit opened, say) until the dispatcher offers again.
    func revoke(_ action: String) {
        state.withLockedValue { state in
            state.rooms[action] = nil
            state.replenishable.remove(action)
        }
    }
}
