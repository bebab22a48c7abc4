import CRelaySQLite

/// A prepared statement of one ``SQLiteConnection``: bind, step, read columns, reset.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private let connection: OpaquePointer

    init(statement: OpaquePointer, connection: OpaquePointer) {
        self.statement = statement
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Binds parameter `index` (1-based); nil binds NULL.
    func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        let result: Int32
        if let value {
            var value = value
            result = value.withUTF8 { utf8 in
                relay_sqlite_bind_text(statement, index, utf8.baseAddress, Int32(utf8.count))
            }
        } else {
            result = sqlite3_bind_null(statement, index)
        }
        try check(result)
    }

    func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(statement, index, value))
    }

    /// Binds an integer, or NULL for nil.
    func bind(_ value: Int64?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try check(sqlite3_bind_null(statement, index)) }
    }

    func bind(bytes: [UInt8], at index: Int32) throws(SQLiteError) {
        let result = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return sqlite3_bind_zeroblob(statement, index, 0) }
            return relay_sqlite_bind_blob(statement, index, base, Int32(buffer.count))
        }
        try check(result)
    }

    /// Advances; true when a row is available, false when done.
    @discardableResult
    func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(statement)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: result, connection: connection)
        }
    }

    /// Resets for another execution and clears the bindings.
    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func int64(at column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    /// An integer column, or nil when it is NULL.
    func optionalInt64(at column: Int32) -> Int64? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
    }

    func text(at column: Int32) -> String? {
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: text)
    }

    func bytes(at column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let blob = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }

    private func check(_ result: Int32) throws(SQLiteError) {
        guard result == SQLITE_OK else { throw SQLiteError(code: result, connection: connection) }
    }
}
