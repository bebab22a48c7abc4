import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Synchronization

/// Claims due deliveries and runs their actions with bounded concurrency, retries and dead letters.
///
/// New deliveries start at once: those it offered room for are leased to it by the append that stores
/// them (``DeliveryHandOff``), the others are claimed as soon as the store wakes it after their commit;
/// retries and deliveries created by the CLI are found by timer, at most ``pollInterval`` late. At
/// graceful shutdown it stops claiming, lets running attempts finish for
/// `dispatch.shutdown_grace_seconds`, then interrupts the rest and releases their deliveries back to
/// `pending`.
public final class Dispatcher: Service {
    /// Longest sleep between claims when nothing is known to be due.
    static let pollInterval: Duration = .seconds(1)
    /// How long a claim waits for more workers to free up when only a few are free (see `claimLoop`).
    static let claimGathering: Duration = .milliseconds(3)
    /// How often a claim parks deliveries whose ordered subject a dead delivery holds, and for how long
    /// (a retry or skip of the dead one makes them due at once).
    static let parkEvery: Int64 = 10_000
    static let parkFor: Int64 = 60_000

    private let store: any EventLog
    /// The actions and their settings in effect (a reload replaces them).
    private let live: LiveSettings
    private let dispatch: DispatchConfiguration
    /// The link to the store: leased deliveries, the offer, the wake-ups and the running attempts.
    private let handOff: DeliveryHandOff
    private var wakeup: WakeupSignal { handOff.wakeup }
    private var running: RunningAttempts { handOff.running }
    private let heartbeat: Heartbeat
    private let metrics: RelayMetrics
    private let logger: Logger
    private let clock: any RelayClock
    /// Opens the bodies of claimed deliveries (the store's keys).
    private let sealer: PayloadSealer
    /// One span per attempt, in its event's trace, when `[tracing]` is on.
    private let tracing: RelayTracing
    private let flow = FlowControl()
    /// The actions the last claim found paused by an operator.
    private let paused = NIOLockedValueBox<Set<String>>([])
    private let isStopping = Atomic(false)
    /// How long a claimed or handed-over delivery is leased (ms).
    private var leaseMilliseconds: Int64 { Int64(dispatch.leaseSeconds) * 1000 }
    /// When the claim loop last asked the store to park blocked deliveries (Unix ms).
    private let parkedAt = Atomic<Int64>(0)

    /// - Parameters:
    ///   - live: the runnable action and settings for every configured action name.
    ///   - handOff: shared with the store, which leases new deliveries to this dispatcher through it and
    ///     wakes it after creating deliveries.
    ///   - heartbeat: beaten on every turn of the claim loop (at least every ``pollInterval``), for
    ///     readiness and the systemd watchdog.
    ///   - clock: what claims, retries, leases and flow control read the time from.
    ///   - sealer: the store's keys, which open the bodies of claimed deliveries (on the attempt's task,
    ///     beside the others, never on the store's writer).
    ///   - tracing: spans for attempts, continuing the trace context stored with each event.
    public init(
        store: any EventLog,
        live: LiveSettings,
        configuration: RelayConfiguration,
        handOff: DeliveryHandOff,
        heartbeat: Heartbeat = Heartbeat(),
        metrics: RelayMetrics = RelayMetrics(),
        tracing: RelayTracing = .off,
        clock: any RelayClock = SystemClock(),
        sealer: PayloadSealer = .plaintext,
        logger: Logger
    ) {
        self.store = store
        self.sealer = sealer
        self.tracing = tracing
        self.live = live
        self.dispatch = configuration.dispatch
        self.handOff = handOff
        self.heartbeat = heartbeat
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                await claimLoop(group: &group)
                heartbeat.stop()
                await drain(group: &group)
            }
        } onGracefulShutdown: {
            self.isStopping.store(true, ordering: .relaxed)
            self.wakeup.signal()
        }
    }

    /// Claims while there is room, starts each claimed or handed-over delivery, offers the room left to
    /// the store's appends, and sleeps until work may be due. A wake-up that only brought handed-over
    /// jobs starts them without a claim.
    private func claimLoop(group: inout DiscardingTaskGroup) async {
        var claimNow = true
        // When the next claim is due without a signal.
        var claimAt = clock.instant
        while !isStopping.load(ordering: .relaxed) && !Task.isCancelled {
            heartbeat.beat()
            if !claimNow && clock.instant < claimAt {
                // The offer keeps itself up to date between claims (see DeliveryHandOff).
                startHandedOver(handOff.takeJobs(), group: &group)
                claimNow = await wakeup.wait(timeout: claimAt - clock.instant) != .handOff
                continue
            }
            claimNow = false
            startHandedOver(handOff.withdraw(), group: &group)
            var free = dispatch.workers - running.total
            if free > 0 && free < dispatch.workers / 4 {
                // Under load most workers are busy and each finished attempt frees one: wait a moment so
                // one claim (a transaction, a network round trip on PostgreSQL) serves several workers.
                try? await Task.sleep(for: Self.claimGathering)
                free = dispatch.workers - running.total
            }
            var timeout = Self.pollInterval
            if free > 0 {
                let now = clock.now
                let instant = clock.instant
                let settings = live.snapshot.settings
                let limited = flow.limit(
                    running.claimable(settings, workers: dispatch.workers), settings: settings, now: instant)
                for transition in limited.transitions { report(transition) }
                var request = ClaimRequest(
                    limit: free, actions: limited.actions, now: now, leaseMilliseconds: leaseMilliseconds)
                if now - parkedAt.load(ordering: .relaxed) >= Self.parkEvery {
                    parkedAt.store(now, ordering: .relaxed)
                    request.parkBlockedUntil = now + Self.parkFor
                }
                let claim: Claim
                do {
                    claim = try await store.claim(request)
                    metrics.countClaim()
                } catch {
                    logger.error("Cannot claim deliveries", metadata: [LogKey.error: "\(error)"])
                    claimNow = true
                    await wakeup.wait(timeout: Self.pollInterval)
                    continue
                }
                for delivery in claim.poisoned { reportPoisoned(delivery) }
                reportPaused(claim.paused)
                for job in claim.jobs { running.start(job.action) }
                let claimed = start(claim.jobs, group: &group)
                // A full claim may have left more due deliveries behind: claim again once there is room.
                if claim.jobs.count == free {
                    claimNow = true
                    continue
                }
                offer(limited, claimed: claimed, free: free - claim.jobs.count, paused: claim.paused)
                if let due = claim.nextDueAt, due > now {
                    timeout = min(.milliseconds(due - now), Self.pollInterval)
                }
                // A probe comes due, or a token for an action whose claim took all the bucket allowed (more
                // may be due): claim again then.
                var retryAt = limited.retryAt
                for (action, at) in limited.nextToken
                where claimed[action, default: 0] >= limited.actions[action]?.room ?? 0 {
                    retryAt = min(at, retryAt ?? at)
                }
                if let retryAt {
                    timeout = max(min(timeout, retryAt - clock.instant), .milliseconds(1))
                }
            }
            claimAt = clock.instant + timeout
            claimNow = await wakeup.wait(timeout: timeout) != .handOff
        }
        // No more leases; what was handed over and not started goes back to pending.
        releaseHandedOver(group: &group)
    }

    /// Starts the jobs the store handed over, and counts them.
    private func startHandedOver(_ jobs: [DeliveryJob], group: inout DiscardingTaskGroup) {
        guard !jobs.isEmpty else { return }
        metrics.countHandedOver(jobs.count)
        start(jobs, group: &group)
    }

    /// Starts an attempt for each job (already counted as running); returns how many per action.
    @discardableResult
    private func start(_ jobs: [DeliveryJob], group: inout DiscardingTaskGroup) -> [String: Int] {
        guard !jobs.isEmpty else { return [:] }
        var started: [String: Int] = [:]
        for job in jobs {
            started[job.action, default: 0] += 1
            group.addTask {
                let outcome = await self.attempt(job)
                self.running.finish(job.action)
                self.attemptEnded(job.action, outcome: outcome)
            }
        }
        for (action, count) in started { flow.started(action, count: count) }
        return started
    }

    /// After an attempt: gives its room back to the offer when nothing else can be waiting for it, and
    /// otherwise wakes the claim loop (a backlog, a subject it held, a retry or a release to schedule,
    /// flow control to apply, a shutdown waiting for it).
    private func attemptEnded(_ action: String, outcome: AttemptOutcome?) {
        switch outcome {
        case .succeeded?, .skipped?, .dead?:
            if !isStopping.load(ordering: .relaxed) && handOff.replenish(action) { return }
        case .retry?, .released?, nil:
            break
        }
        wakeup.signal(.claim)
    }

    /// Offers the room the claim left to the store's next appends: for each unordered action the claim
    /// found no more due deliveries of (the claim took less than its room), that room, and `free` in all.
    /// An action flow control does not hold back gets each finished attempt's room back by itself.
    private func offer(_ limited: FlowControl.Limits, claimed: [String: Int], free: Int, paused: Set<String>) {
        var rooms: [String: Int] = [:]
        var replenishable: Set<String> = []
        for (name, action) in limited.actions where !action.ordered && !paused.contains(name) {
            let room = action.room - claimed[name, default: 0]
            guard room > 0 else { continue }
            rooms[name] = room
            if limited.unthrottled.contains(name) { replenishable.insert(name) }
        }
        handOff.offer(rooms, total: free, leaseMilliseconds: leaseMilliseconds, replenishable: replenishable)
    }

    /// Withdraws the offer and puts deliveries handed over but not started back to pending, as an
    /// interrupted attempt is (the attempt not counted).
    private func releaseHandedOver(group: inout DiscardingTaskGroup) {
        for job in handOff.withdraw() {
            group.addTask {
                let now = self.clock.now
                let record = AttemptRecord(
                    delivery: job.id, attempt: job.attempt, startedAt: now, durationMilliseconds: 0,
                    outcome: .released)
                _ = await self.recordAttempt(
                    record, leaseEnd: self.clock.instant + .seconds(self.dispatch.leaseSeconds))
                self.running.finish(job.action)
                self.wakeup.signal(.claim)
            }
        }
    }

    /// Logs, counts and records a circuit breaker's change of state.
    private func report(_ transition: FlowControl.Transition) {
        metrics.recordCircuit(action: transition.action, state: transition.to)
        var metadata: Logger.Metadata = [
            LogKey.action: "\(transition.action)", LogKey.circuit: "\(transition.to.rawValue)",
        ]
        switch transition.to {
        case .open:
            metadata[LogKey.error] = "\(transition.error ?? "")"
            logger.warning(
                transition.from == .halfOpen
                    ? "Circuit opened again: the probe attempt failed; deliveries wait"
                    : "Circuit opened: too many attempts in a row failed; deliveries wait without spending attempts",
                metadata: metadata)
        case .halfOpen:
            logger.info("Circuit half-open: one probe attempt goes", metadata: metadata)
        case .closed:
            logger.notice("Circuit closed: attempts succeed again", metadata: metadata)
        }
        let change = CircuitChange(
            action: transition.action, state: transition.to, at: clock.now, error: transition.error)
        let store = store
        let logger = logger
        Task {
            do {
                try await store.recordCircuit(change)
            } catch {
                logger.debug("Cannot record a circuit change", metadata: [LogKey.error: "\(error)"])
            }
        }
    }

    /// Logs once when an operator pauses or resumes an action, and sets its gauge.
    private func reportPaused(_ now: Set<String>) {
        let before = paused.withLockedValue { paused in
            defer { paused = now }
            return paused
        }
        guard before != now else { return }
        for action in now.subtracting(before).sorted() {
            metrics.recordPaused(action: action, paused: true)
            logger.notice("Action paused by an operator: its deliveries wait", metadata: [LogKey.action: "\(action)"])
        }
        for action in before.subtracting(now).sorted() {
            metrics.recordPaused(action: action, paused: false)
            logger.notice("Action resumed", metadata: [LogKey.action: "\(action)"])
        }
    }

    /// Logs and counts a delivery the claim made `dead` because its attempts never finished.
    private func reportPoisoned(_ delivery: PoisonedDelivery) {
        metrics.countAttempt(action: delivery.action, outcome: "dead", lag: nil)
        logger.warning(
            "Delivery is dead: its attempts did not finish",
            metadata: [
                LogKey.deliveryID: "\(delivery.id)", LogKey.action: "\(delivery.action)",
                LogKey.eventID: "\(delivery.eventID)", LogKey.attempt: "\(delivery.attempts)",
                LogKey.error: "\(delivery.error)",
            ]
        )
    }

    /// Waits for running attempts up to the grace period, then interrupts the rest.
    private func drain(group: inout DiscardingTaskGroup) async {
        let deadline = ContinuousClock.now + .seconds(dispatch.shutdownGraceSeconds)
        if running.total > 0 {
            logger.info("Waiting for running deliveries", metadata: [LogKey.running: "\(running.total)"])
        }
        while running.total > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
            await wakeup.wait(timeout: min(deadline - ContinuousClock.now, .milliseconds(100)))
            // Leased by an append that committed after the claim loop stopped.
            releaseHandedOver(group: &group)
        }
        if running.total > 0 {
            logger.notice(
                "Interrupting running deliveries at shutdown", metadata: [LogKey.running: "\(running.total)"])
        }
        group.cancelAll()
    }

    /// Records an attempt's end, trying again while the store is unavailable (a database restarting, say)
    /// until shortly before the delivery's lease ends, so a short outage does not send it twice. Returns
    /// the last error when it could not be recorded.
    private func recordAttempt(_ attempt: AttemptRecord, leaseEnd: ContinuousClock.Instant) async -> StoreError? {
        var wait = Duration.milliseconds(200)
        while true {
            do {
                if try await !store.finish(attempt) {
                    // Its lease expired and another claim took the delivery: that claim's report counts.
                    logger.warning(
                        "Ignored the result of an attempt that had lost its lease",
                        metadata: [LogKey.deliveryID: "\(attempt.delivery)", LogKey.attempt: "\(attempt.attempt)"])
                }
                return nil
            } catch {
                // A second to spare, so the report does not race the lease's end.
                let retryAt = clock.instant + wait + .seconds(1)
                guard retryAt < leaseEnd, !Task.isCancelled else { return error }
                try? await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(2))
            }
        }
    }

    /// Runs one attempt within the action's timeout and records how it ended; returns the outcome
    /// recorded, nil when it could not be recorded.
    private func attempt(_ job: DeliveryJob) async -> AttemptOutcome? {
        let started = clock.now
        let startedInstant = clock.instant
        let outcome: ActionOutcome?
        let current = live.snapshot
        var job = job
        var unopened: SealError?
        do throws(SealError) {
            job.body = try sealer.open(job.body, for: .event(job.eventID))
        } catch {
            unopened = error
        }
        if let unopened {
            // Keys are checked when the store opens, so only changed bytes get here: never sent.
            outcome = .permanent(error: "the stored body of event \(job.eventID) is \(unopened)")
        } else if Erasure.isTombstone(job.body) {
            // Erased since it was claimed (or retried by an operator since): nothing of it is sent.
            outcome = .skipped(reason: "the event was erased")
        } else if let action = current.actions[job.action], let configuration = current.settings[job.action] {
            job.trace = tracing.attempt(job, kind: configuration.kindName)
            outcome = await Self.perform(action, job: job, timeout: .seconds(configuration.timeoutSeconds))
        } else {
            // Removed by a reload since the claim: back to pending, not dead (it may come back).
            outcome = nil
        }
        let record: AttemptOutcome
        var output: String?
        switch outcome {
        case nil:
            record = .released
        case .success(let tail)?:
            record = .succeeded
            output = tail
        case .skipped(let reason)?:
            record = .skipped(reason: reason.bounded())
        case .permanent(let error, let tail)?:
            record = .dead(error: error.bounded())
            output = tail
        case .retryable(let error, let retryAfter, let tail)?:
            output = tail
            let policy = current.settings[job.action]?.retry ?? dispatch.retry
            if job.attempt >= policy.maxAttempts {
                record = .dead(error: "\(error) (attempt \(job.attempt) of \(policy.maxAttempts))".bounded())
            } else {
                let delay = policy.delay(afterAttempt: job.attempt, retryAfter: retryAfter)
                let next = clock.now.saturatingAdd(delay.wholeMilliseconds)
                record = .retry(error: error.bounded(), nextAttemptAt: next)
            }
        }
        job.trace?.end(record)
        let duration = (clock.instant - startedInstant).wholeMilliseconds
        let attemptRecord = AttemptRecord(
            delivery: job.id,
            attempt: job.attempt,
            startedAt: started,
            durationMilliseconds: duration,
            outcome: record,
            output: output.map { $0.bounded(4096) }
        )
        if let error = await recordAttempt(
            attemptRecord, leaseEnd: startedInstant + .seconds(dispatch.leaseSeconds))
        {
            // The lease expires and the delivery is attempted again: nothing is lost.
            logger.error(
                "Cannot record an attempt; the delivery will be retried after its lease",
                metadata: Self.metadata(job, error: "\(error)"))
            return nil
        }
        if let transition = flow.finished(
            job.action, outcome: record, settings: current.settings[job.action], now: clock.instant)
        {
            // The offer no longer holds: the claim loop decides again.
            handOff.revoke(job.action)
            report(transition)
        }
        let finished = clock.now
        metrics.countAttempt(
            action: job.action,
            outcome: record.label,
            lag: record == .succeeded ? .milliseconds(finished - job.receivedAt) : nil
        )
        // Metadata is built only for a line the log level lets through.
        switch record {
        case .succeeded: logger.debug("Delivered", metadata: Self.metadata(job, outcome: record))
        case .released: logger.info("Released an interrupted delivery", metadata: Self.metadata(job, outcome: record))
        case .skipped(let reason):
            logger.info("Skipped a delivery", metadata: Self.metadata(job, outcome: record, error: reason))
        case .retry(let error, _):
            logger.info(
                "Delivery attempt failed; will retry", metadata: Self.metadata(job, outcome: record, error: error))
        case .dead(let error):
            logger.warning("Delivery is dead", metadata: Self.metadata(job, outcome: record, error: error))
        }
        return record
    }

    /// An attempt's log metadata.
    private static func metadata(_ job: DeliveryJob, outcome: AttemptOutcome? = nil, error: String? = nil)
        -> Logger.Metadata
    {
        var metadata: Logger.Metadata = [
            LogKey.deliveryID: "\(job.id)", LogKey.action: "\(job.action)", LogKey.attempt: "\(job.attempt)",
            LogKey.eventID: "\(job.eventID)",
        ]
        if let trace = job.traceContext { metadata[LogKey.traceID] = "\(trace.traceID)" }
        if let outcome { metadata[LogKey.outcome] = "\(outcome.label)" }
        if let error { metadata[LogKey.error] = "\(error)" }
        return metadata
    }

    /// The action's outcome, a timeout failure, or nil when the dispatcher itself was cancelled (shutdown).
    private static func perform(
        _ action: any DeliveryAction,
        job: DeliveryJob,
        timeout: Duration
    ) async -> ActionOutcome? {
        guard !action.enforcesTimeout else {
            let outcome = await action.perform(job)
            return Task.isCancelled ? nil : outcome
        }
        let outcome = await withTaskGroup(of: ActionOutcome?.self) { group in
            group.addTask { await action.perform(job) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .retryable(error: "timed out after \(timeout.components.seconds) s")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        return Task.isCancelled ? nil : outcome
    }
}
