import Foundation
import Logging
import ServiceLifecycle

/// `[reconcile]`: runs ``Reconciler`` on a schedule inside the daemon.
///
/// Every ``tick`` each instance asks the store whether a run is due (``ReconcileSchedule``, from the
/// newest scheduled run any instance recorded) and records its start in the same locked step, so one
/// instance runs per interval. An incomplete run is tried again sooner: 15 s after it, doubling with each
/// failure in a row, never later than the interval. The Gigs API client, routes and actions are the
/// reloaded ones of the moment a run starts.
struct ReconcileService: Service {
    /// How often an instance asks whether a run is due.
    static let tick: Duration = .seconds(5)
    /// The first wait after an incomplete run.
    static let firstRetry: Int64 = 15_000
    /// A run not finished this long after it started is taken for abandoned (its process died).
    static let abandonedAfter: Int64 = 30 * 60_000
    /// Missing events logged one line each per run; the summary line counts them all.
    static let loggedMissing = 100

    /// A store that cannot be asked (down, full) is said once a minute, not every tick.
    let startFailures = LogThrottle(limit: 1, interval: .seconds(60))

    let configuration: ReconcileConfiguration
    let console: any StoreConsole
    let live: LiveSettings
    let metrics: RelayMetrics
    var clock: any RelayClock = SystemClock()
    let logger: Logger

    func run() async throws {
        // A run cancelled by shutdown records itself as incomplete; none starts after shutdown begins.
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: .seconds(1))
            var failures = 0
            while !Task.isCancelled {
                if let complete = await runIfDue(failuresInARow: failures) {
                    failures = complete ? 0 : failures + 1
                }
                try? await Task.sleep(for: Self.tick)
            }
        }
    }

    /// The schedule after `failures` incomplete runs in a row on this instance.
    func schedule(failuresInARow failures: Int) -> ReconcileSchedule {
        let retry = Self.firstRetry << min(max(failures - 1, 0), 20)
        return ReconcileSchedule(
            interval: configuration.interval, retry: min(retry, configuration.interval),
            abandonedAfter: Self.abandonedAfter)
    }

    /// One run when one is due; returns whether it was complete, or nil when none ran.
    func runIfDue(failuresInARow failures: Int) async -> Bool? {
        let snapshot = live.snapshot
        guard let api = snapshot.gigsAPI else { return nil }
        let schedule = schedule(failuresInARow: failures)
        let now = clock.now
        let id: Int64
        do {
            guard
                let started = try await console.startReconcileRun(
                    .schedule, instance: ReconcileRun.thisInstance, when: { schedule.isDue(after: $0, now: now) })
            else { return nil }
            id = started
        } catch {
            startFailures.log(
                logger: logger, level: .warning, "Cannot start a reconciliation run",
                metadata: [LogKey.error: "\(error)"])
            return nil
        }
        logger.info("Reconciliation run started", metadata: [LogKey.reconcileRun: "\(id)"])
        let reconciler = Reconciler(api: api, store: console, maximumPages: configuration.maxPages)
        var result: Reconciliation
        do {
            result = try await reconciler.run(since: now - configuration.since, forEmit: configuration.emit)
            if configuration.emit, !result.missing.isEmpty {
                try await reconciler.emit(
                    &result, project: api.project, routes: snapshot.routes, settings: snapshot.settings,
                    now: clock.now)
            }
        } catch {
            result = Reconciliation(since: Timestamp.iso8601(milliseconds: now - configuration.since))
            result.incomplete = "the store: \(error)"
        }
        if Task.isCancelled, let reason = result.incomplete {
            result.incomplete = "stopped by the daemon's shutdown (\(reason))"
        }
        report(result, run: id)
        do {
            // Recorded even when shutdown cancelled the run (a task of its own is not cancelled with it);
            // an unrecorded run would hold the schedule until it counts as abandoned.
            let (console, finished) = (console, result)
            try await Task { try await console.finishReconcileRun(id, result: finished) }.value
        } catch {
            logger.warning(
                "Cannot record a reconciliation run",
                metadata: [LogKey.reconcileRun: "\(id)", LogKey.error: "\(error)"])
        }
        return result.incomplete == nil
    }

    /// Metrics and log lines of a finished run: a line per missing event (up to ``loggedMissing``), one
    /// summary.
    private func report(_ result: Reconciliation, run id: Int64) {
        metrics.record(result, now: clock.now)
        for missing in result.missing.prefix(Self.loggedMissing) {
            logger.warning(
                "Reconciliation found an event Gigs never delivered",
                metadata: [
                    LogKey.reconcileRun: "\(id)", LogKey.eventType: "\(missing.type)",
                    LogKey.reconcileResource: "\(missing.resource)", LogKey.reconcileTime: "\(missing.time)",
                ])
        }
        var metadata: Logger.Metadata = [
            LogKey.reconcileRun: "\(id)", LogKey.reconcileResources: "\(result.resourcesRead)",
            LogKey.reconcileExpected: "\(result.expected)", LogKey.reconcileFound: "\(result.found)",
            LogKey.reconcileMissing: "\(result.missing.count)", LogKey.reconcileAPIErrors: "\(result.apiErrors)",
        ]
        if let emitted = result.emitted { metadata[LogKey.reconcileEmitted] = "\(emitted)" }
        if let reason = result.incomplete {
            metadata[LogKey.reasons] = "\(reason)"
            logger.warning(
                "Reconciliation run incomplete: the Gigs API could not be read completely", metadata: metadata)
        } else {
            logger.info("Reconciliation run complete", metadata: metadata)
        }
    }
}

extension ReconcileRun {
    /// This process, as runs record who ran them: `HOST:PID` (the host name as the kernel has it; no
    /// lookup that could wait on DNS).
    public static let thisInstance: String = {
        var name = [UInt8](repeating: 0, count: 256)
        let named = name.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                chars.baseAddress.map { gethostname($0, chars.count - 1) == 0 } ?? false
            }
        }
        let host = named ? String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) : "unknown"
        return "\(host):\(ProcessInfo.processInfo.processIdentifier)"
    }()
}
