import CRelaySQLite

/// A failed SQLite call: its result code and SQLite's message (which never holds bound values).
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code.
    public let code: Int32
    /// SQLite's message, such as `database or disk is full`.
    public let message: String

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(code: Int32, connection: OpaquePointer?) {
        self.code = code
        if let connection, let text = sqlite3_errmsg(connection) {
            self.message = String(cString: text)
        } else {
            self.message = String(cString: sqlite3_errstr(code))
        }
    }

    /// The primary result code (the extended code's low byte).
    var primaryCode: Int32 { code & 0xff }

    /// Whether the disk or the database is full.
    public var isFull: Bool { primaryCode == SQLITE_FULL }

    /// Whether another connection holds the lock for longer than the busy timeout.
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// Whether a UNIQUE or other constraint was violated.
    var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }

    public var description: String { "SQLite error \(code): \(message)" }
}
