import Foundation

/// `gigs-relay store copy`: copies events, then deliveries, then attempts from one store to another
/// (SQLite or PostgreSQL, either direction) in batches, keeping ids, then compares the two.
///
/// Idempotent and resumable: a row already in the destination is not copied again, so a second run
/// copies only what is new (the tail a still-running source wrote) and the status changes of deliveries.
/// An event the destination already holds under another sequence number (Gigs delivered it to the new
/// store too) is left out with its deliveries and attempts: the destination dispatched its own copy.
public struct StoreCopy {
    /// The highest id of each table.
    public struct HighestIDs: Sendable, Equatable {
        public var events: Int64 = 0
        public var deliveries: Int64 = 0
        public var attempts: Int64 = 0

        public init(events: Int64 = 0, deliveries: Int64 = 0, attempts: Int64 = 0) {
            self.events = events
            self.deliveries = deliveries
            self.attempts = attempts
        }
    }

    /// What one table's pass did.
    public struct TableReport: Sendable, Equatable {
        public var table: String
        /// Rows in the source.
        public var source = 0
        /// Rows written to the destination by this run.
        public var copied = 0
        /// Rows left out: already there (or, for deliveries, newer there; for events, there under another
        /// sequence number).
        public var skipped = 0
        /// After the copy: source rows the destination holds equal (or, for deliveries, newer).
        public var matching = 0
        /// Deliveries among ``matching`` that the destination changed after the source did (their
        /// checksums differ for that reason).
        public var newer = 0
        /// Checksums of the source rows and of the destination's rows with the same ids.
        public var sourceChecksum: UInt64 = 0
        public var destinationChecksum: UInt64 = 0

        /// Whether every source row is in the destination as it is.
        public var isComplete: Bool { matching == source }
    }

    /// A destination row that has a source row's id but is another row: the two stores' ids overlap.
    public struct Collision: Error, CustomStringConvertible {
        public let description: String
    }

    /// Rows per batch (one transaction each in the destination).
    public static let batchSize = 500
    /// How far above the source's highest ids the destination's new ids start, so a source that keeps
    /// writing during a switch (up to this many rows per table) can still be caught up without overlap.
    public static let reservedIDs: Int64 = 1_000_000

    let source: any StoreRows
    let destination: any StoreRows
    /// Called after every batch with the table's name and its report so far.
    let progress: @Sendable (TableReport) -> Void

    public init(
        from source: any StoreRows,
        to destination: any StoreRows,
        progress: @escaping @Sendable (TableReport) -> Void = { _ in }
    ) {
        self.source = source
        self.destination = destination
        self.progress = progress
    }

    /// Copies, reserves ids in the destination, and compares; returns one report per table.
    public func run() async throws -> [TableReport] {
        var skippedEvents: Set<Int64> = []
        var skippedDeliveries: Set<Int64> = []
        var highest = HighestIDs()
        // Sealed rows are copied as they are: the destination lists their keys first, so it refuses to
        // open without them too.
        try await destination.list(keys: try await source.listedKeys())

        var events = TableReport(table: "events")
        var cursor: Int64 = 0
        while true {
            let batch = try await source.events(after: cursor, limit: Self.batchSize)
            guard let last = batch.last else { break }
            cursor = last.sequence
            highest.events = last.sequence
            let present = Dictionary(
                try await destination.events(ids: batch.map(\.sequence)).map { ($0.sequence, $0) },
                uniquingKeysWith: { first, _ in first })
            let elsewhere = try await destination.eventSequences(eventIDs: batch.map(\.id))
            var missing: [EventRow] = []
            for row in batch {
                if let there = present[row.sequence] {
                    guard there.id == row.id else {
                        throw Collision(
                            description:
                                "destination event seq \(row.sequence) is \(there.id), the source's is \(row.id): the stores' ids overlap"
                        )
                    }
                    events.skipped += 1
                } else if elsewhere[row.id] != nil {
                    skippedEvents.insert(row.sequence)
                    events.skipped += 1
                } else {
                    missing.append(row)
                }
            }
            if !missing.isEmpty { try await destination.insert(events: missing) }
            events.source += batch.count
            events.copied += missing.count
            progress(events)
        }

        var deliveries = TableReport(table: "deliveries")
        cursor = 0
        while true {
            let batch = try await source.deliveries(after: cursor, limit: Self.batchSize)
            guard let last = batch.last else { break }
            cursor = last.id
            highest.deliveries = last.id
            let present = Dictionary(
                try await destination.deliveries(ids: batch.map(\.id)).map { ($0.id, $0) },
                uniquingKeysWith: { first, _ in first })
            var changed: [DeliveryRow] = []
            for row in batch {
                if skippedEvents.contains(row.eventSequence) {
                    skippedDeliveries.insert(row.id)
                    deliveries.skipped += 1
                } else if let there = present[row.id] {
                    guard there.eventSequence == row.eventSequence && there.action == row.action else {
                        throw Collision(
                            description:
                                "destination delivery \(row.id) belongs to another event: the stores' ids overlap"
                        )
                    }
                    if there.updatedAt < row.updatedAt { changed.append(row) } else { deliveries.skipped += 1 }
                } else {
                    changed.append(row)
                }
            }
            if !changed.isEmpty { try await destination.upsert(deliveries: changed) }
            deliveries.source += batch.count
            deliveries.copied += changed.count
            progress(deliveries)
        }

        var attempts = TableReport(table: "attempts")
        cursor = 0
        while true {
            let batch = try await source.attempts(after: cursor, limit: Self.batchSize)
            guard let last = batch.last else { break }
            cursor = last.id
            highest.attempts = last.id
            let present = Dictionary(
                try await destination.attempts(ids: batch.map(\.id)).map { ($0.id, $0) },
                uniquingKeysWith: { first, _ in first })
            var missing: [AttemptRow] = []
            for row in batch {
                if skippedDeliveries.contains(row.deliveryID) {
                    attempts.skipped += 1
                } else if let there = present[row.id] {
                    guard there.deliveryID == row.deliveryID && there.number == row.number else {
                        throw Collision(
                            description:
                                "destination attempt \(row.id) belongs to another delivery: the stores' ids overlap"
                        )
                    }
                    attempts.skipped += 1
                } else {
                    missing.append(row)
                }
            }
            if !missing.isEmpty { try await destination.insert(attempts: missing) }
            attempts.source += batch.count
            attempts.copied += missing.count
            progress(attempts)
        }

        // A key listed since (a restarted daemon's new key) before rows sealed with it were copied.
        try await destination.list(keys: try await source.listedKeys())
        try await destination.reserveIDs(
            above: HighestIDs(
                events: highest.events + Self.reservedIDs, deliveries: highest.deliveries + Self.reservedIDs,
                attempts: highest.attempts + Self.reservedIDs))
        return [
            try await compare(
                events, read: source.events(after:limit:), present: destination.events(ids:),
                keep: { !skippedEvents.contains($0.sequence) }),
            try await compare(
                deliveries, read: source.deliveries(after:limit:), present: destination.deliveries(ids:),
                keep: { !skippedDeliveries.contains($0.id) },
                // Newer in the destination: a new instance moved it on after the switch.
                newer: { there, row in there.updatedAt > row.updatedAt }),
            try await compare(
                attempts, read: source.attempts(after:limit:), present: destination.attempts(ids:),
                keep: { !skippedDeliveries.contains($0.deliveryID) }),
        ]
    }

    /// Reads every source row of one table again with the destination's row of the same id: counts
    /// equal rows (and rows `newer` says the destination moved on) and computes both sides' checksums.
    private func compare<Row: CopiedRow>(
        _ report: TableReport,
        read: (_ after: Int64, _ limit: Int) async throws(StoreError) -> [Row],
        present: ([Int64]) async throws(StoreError) -> [Row],
        keep: (Row) -> Bool,
        newer: (_ there: Row, _ row: Row) -> Bool = { _, _ in false }
    ) async throws -> TableReport {
        var report = report
        report.source = 0
        var cursor: Int64 = 0
        var sourceSum = Checksum()
        var destinationSum = Checksum()
        while true {
            let all = try await read(cursor, Self.batchSize)
            guard let last = all.last else { break }
            cursor = last.rowID
            let batch = all.filter(keep)
            let there = Dictionary(
                try await present(batch.map(\.rowID)).map { ($0.rowID, $0) }, uniquingKeysWith: { first, _ in first })
            for row in batch {
                report.source += 1
                row.add(to: &sourceSum)
                guard let copy = there[row.rowID] else { continue }
                copy.add(to: &destinationSum)
                if copy == row {
                    report.matching += 1
                } else if newer(copy, row) {
                    report.matching += 1
                    report.newer += 1
                }
            }
        }
        report.sourceChecksum = sourceSum.value
        report.destinationChecksum = destinationSum.value
        return report
    }
}

/// A row `store copy` moves and compares: its id in its table, and its part of the table's checksum.
protocol CopiedRow: Equatable, Sendable {
    var rowID: Int64 { get }
    func add(to checksum: inout Checksum)
}

extension EventRow: CopiedRow {
    var rowID: Int64 { sequence }
    func add(to checksum: inout Checksum) { checksum.add(self) }
}

extension DeliveryRow: CopiedRow {
    var rowID: Int64 { id }
    func add(to checksum: inout Checksum) { checksum.add(self) }
}

extension AttemptRow: CopiedRow {
    var rowID: Int64 { id }
    func add(to checksum: inout Checksum) { checksum.add(self) }
}
