/// `gigs-relay store encrypt` and `store rekey`: every sealable row moved to the current key
/// (``PayloadSealer``), a batch per transaction, beside the running daemon.
///
/// Each batch reads a page of rows by id and writes back only those it changed, each only while it still
/// holds what was read (a row the daemon changed since is left for the next run), so a run killed at any
/// point has committed whole batches only and a second run finishes the rest.
public enum Reseal {
    /// What a run changes.
    public enum Mode: String, Sendable {
        /// Seals plaintext rows; rows sealed with a previous key stay as they are.
        case encrypt
        /// Moves every row not sealed with the current key (plaintext ones too) to it.
        case rekey
    }

    /// The tables with sealable columns, in the order a run walks them.
    public enum Table: String, CaseIterable, Sendable {
        case events, deliveries, attempts
    }

    /// One batch's result.
    public struct Batch: Sendable, Equatable {
        /// The id of the last row read; nil when the table has no rows after the cursor.
        public var cursor: Int64?
        public var read = 0
        public var changed = 0

        public init(cursor: Int64? = nil, read: Int = 0, changed: Int = 0) {
            self.cursor = cursor
            self.read = read
            self.changed = changed
        }
    }

    /// Rows a batch reads (and writes in one transaction).
    public static let batchSize = 500
}

extension PayloadSealer {
    /// `stored` as `mode` leaves it in `row`: nil when it stays as it is.
    func resealed(_ stored: [UInt8], for row: Row, mode: Reseal.Mode) throws(SealError) -> [UInt8]? {
        guard let current else { return nil }
        switch mode {
        case .encrypt:
            return Self.isSealed(stored) ? nil : Self.seal(stored, with: current, for: row)
        case .rekey:
            return try resealed(stored, for: row)
        }
    }

    /// A text column as `mode` leaves it: nil when it stays as it is.
    func resealed(text stored: String?, for row: Row, mode: Reseal.Mode) throws(SealError) -> String? {
        guard let stored, let current else { return nil }
        let keyID = Self.keyID(ofText: stored)
        switch (mode, keyID) {
        case (.encrypt, nil), (.rekey, nil):
            return seal(text: stored, for: row)
        case (.encrypt, _), (.rekey, current.id):
            return nil
        case (.rekey, _):
            guard let bytes = Self.sealedBytes(of: stored) else { return nil }
            let plain = String(decoding: try open(bytes, for: row), as: UTF8.self)
            return seal(text: plain, for: row)
        }
    }
}

/// A row a page read, with the values it holds that can be sealed.
struct ResealRow: Sendable {
    enum Values: Sendable, Equatable {
        case body([UInt8])
        case lastError(String?)
        case attempt(error: String?, output: String?)
    }

    /// `seq` (events) or `id`.
    var id: Int64
    /// The row the values are sealed for.
    var owner: PayloadSealer.Row
    var values: Values

    /// The values `mode` leaves the row with; nil when it stays as it is.
    func resealed(by sealer: PayloadSealer, mode: Reseal.Mode) throws(StoreError) -> Values? {
        do throws(SealError) {
            switch values {
            case .body(let body):
                return try sealer.resealed(body, for: owner, mode: mode).map(Values.body)
            case .lastError(let error):
                return try sealer.resealed(text: error, for: owner, mode: mode).map(Values.lastError)
            case .attempt(let error, let output):
                let newError = try sealer.resealed(text: error, for: owner, mode: mode)
                let newOutput = try sealer.resealed(text: output, for: owner, mode: mode)
                guard newError != nil || newOutput != nil else { return nil }
                return .attempt(error: newError ?? error, output: newOutput ?? output)
            }
        } catch {
            throw StoreError.readFailed(detail: "row \(id) is \(error)")
        }
    }
}

/// The statements of ``Reseal``, written once for both backends: a page of a table's rows after $1, at
/// most $2, and the fenced update of one row.
enum ResealSQL {
    static func page(_ table: Reseal.Table) -> String {
        switch table {
        case .events: "SELECT seq, id, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        case .deliveries:
            "SELECT id, last_error FROM deliveries WHERE id > $1 AND last_error IS NOT NULL ORDER BY id LIMIT $2"
        case .attempts:
            """
            SELECT id, delivery_id, error, output FROM attempts
            WHERE id > $1 AND (error IS NOT NULL OR output IS NOT NULL) ORDER BY id LIMIT $2
            """
        }
    }

    /// The update of one row: events $1 the new body, $2 seq, $3 the body read; deliveries $1 the new error,
    /// $2 id, $3 the error read; attempts (never changed once written) $1 error, $2 output, $3 id.
    static func update(_ table: Reseal.Table) -> String {
        switch table {
        case .events: "UPDATE events SET body = $1 WHERE seq = $2 AND body = $3"
        case .deliveries: "UPDATE deliveries SET last_error = $1 WHERE id = $2 AND last_error = $3"
        case .attempts: "UPDATE attempts SET error = $1, output = $2 WHERE id = $3"
        }
    }

    /// Unlists every key but $1.
    static let unlistOthers = "DELETE FROM store_keys WHERE key_id <> $1"
}
