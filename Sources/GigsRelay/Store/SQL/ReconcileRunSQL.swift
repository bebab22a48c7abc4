import Foundation

/// The statements on `reconcile_runs` that both backends share, and the row they read.
enum ReconcileRunSQL {
    static let columns = "id, trigger, instance, started_at, finished_at, missing_count, result"

    /// The newest run of a trigger: $1 trigger.
    static let last = "SELECT \(columns) FROM reconcile_runs WHERE trigger = $1 ORDER BY id DESC LIMIT 1"

    /// Records a run's start: $1 trigger, $2 instance, $3 now (Unix ms).
    static let start = "INSERT INTO reconcile_runs (trigger, instance, started_at) VALUES ($1, $2, $3) RETURNING id"

    /// Records what a run found: $1 now (Unix ms), $2 missing count, $3 result (JSON), $4 id.
    static let finish = "UPDATE reconcile_runs SET finished_at = $1, missing_count = $2, result = $3 WHERE id = $4"

    /// Removes the runs before the newest ``ReconcileRun/kept``: $1 the oldest id kept.
    static let trim = "DELETE FROM reconcile_runs WHERE id < $1"

    /// The newest runs: $1 how many.
    static let latest = "SELECT \(columns) FROM reconcile_runs ORDER BY id DESC LIMIT $1"

    /// A row of ``columns``; a result that does not decode (written by a newer gigs-relay) reads as none.
    static func run(
        id: Int64, trigger: String, instance: String, startedAt: Int64, finishedAt: Int64?, missingCount: Int64,
        result: String?
    ) -> ReconcileRun {
        ReconcileRun(
            id: id, trigger: ReconcileTrigger(rawValue: trigger) ?? .command, instance: instance, startedAt: startedAt,
            finishedAt: finishedAt, missingCount: Int(clamping: missingCount),
            result: result.flatMap { try? JSONDecoder().decode(Reconciliation.self, from: Data($0.utf8)) })
    }

    /// `result` as the `result` column holds it.
    static func text(_ result: Reconciliation) -> String {
        let data = (try? JSONEncoder().encode(ReconcileRun.recorded(result))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
