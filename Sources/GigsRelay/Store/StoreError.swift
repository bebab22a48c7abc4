/// The event store could not do what was asked.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case unavailable = "store_unavailable"
        case closed = "store_closed"
        case openFailed = "store_open_failed"
        case readFailed = "store_read_failed"
        case keyMissing = "store_key_missing"
    }

    private let code: Code
    /// What failed, with SQLite's reason; never bound values.
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// A bounded label for logs and metrics.
    public var label: String { code.rawValue }

    public var description: String { "\(code.rawValue): \(detail)" }

    /// Whether the configuration is at fault (the store needs a key it was not given): the daemon and the
    /// CLI exit 78 on it.
    public var isConfigurationError: Bool { code == .keyMissing }

    /// A write failed (disk full, lock held, I/O error, database unreachable); nothing of the batch was
    /// stored.
    static func unavailable(_ error: SQLiteError) -> StoreError { StoreError(.unavailable, error.description) }

    /// A write failed; `detail` says why (never a bound value or a password).
    static func unavailable(detail: String) -> StoreError { StoreError(.unavailable, detail) }

    /// The store is shutting down or shut down.
    static let closed = StoreError(.closed, "the event store is closed")

    /// The database could not be opened or migrated.
    static func openFailed(path: String, _ error: SQLiteError) -> StoreError {
        StoreError(.openFailed, "cannot open event store \(path): \(error.message)")
    }

    /// The database at `location` could not be opened or migrated; `detail` says why.
    static func openFailed(location: String, detail: String) -> StoreError {
        StoreError(.openFailed, "cannot open event store \(location): \(detail)")
    }

    /// The store holds rows sealed with keys the configuration does not give; `detail` names their ids.
    static func keyMissing(detail: String) -> StoreError { StoreError(.keyMissing, detail) }

    /// A query failed.
    static func readFailed(_ error: SQLiteError) -> StoreError { StoreError(.readFailed, error.description) }

    /// A query failed; `detail` says why.
    static func readFailed(detail: String) -> StoreError { StoreError(.readFailed, detail) }
}
