import CRelaySQLite
import Foundation

/// A thin owner of one `sqlite3` connection.
///
/// Not thread-safe by itself: each connection is used by one thread at a time (the store's writer
/// thread, or one CLI command).
final class SQLiteConnection {
    /// How a connection opens its file.
    enum Mode {
        /// Read and write, creating the file (mode 0600) and its folder when missing.
        case create
        /// Read only through `PRAGMA query_only`; the file must exist.
        case readOnly
    }

    private let handle: OpaquePointer
    /// The file path, for messages.
    let path: String

    init(path: String, mode: Mode, busyTimeoutMilliseconds: Int32 = 5000) throws(SQLiteError) {
        self.path = path
        let flags: Int32
        switch mode {
        case .create:
            try Self.createPrivately(path: path)
            flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        case .readOnly:
            guard FileManager.default.fileExists(atPath: path) else {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: "no event store at \(path)")
            }
            flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        }
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            let error = SQLiteError(code: result, connection: handle)
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        switch mode {
        case .readOnly:
            try execute("PRAGMA query_only = ON")
        case .create:
            // Every writer enforces the schema's references: no delivery without its event, no attempt
            // without its delivery, whichever process writes.
            try execute("PRAGMA foreign_keys = ON")
        }
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Creates the folder (0700) and an empty file (0600) so the database never exists with wider permissions;
    /// leaves an existing file alone.
    private static func createPrivately(path: String) throws(SQLiteError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory,
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700]
                )
            } catch {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: "cannot create folder \(directory)")
            }
        }
        // Only a file that does not exist yet is opened here. Closing any descriptor of a file drops every
        // POSIX lock this process holds on it, SQLite's included: a second connection opened beside the
        // daemon's writer (the console's) would leave the writer's locks gone, and the next process to
        // close the store would take it for unused, checkpoint it and delete the WAL still in use.
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let descriptor = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            // Another process created it meanwhile: it exists, which is all this asks.
            if errno == EEXIST { return }
            throw SQLiteError(
                code: SQLITE_CANTOPEN, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
    }

    /// Flushes the folder holding the database, so newly created files (the database, its WAL) survive
    /// power loss before anything stored in them is acknowledged.
    func syncDirectory() throws(SQLiteError) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SQLiteError(code: SQLITE_CANTOPEN, message: "cannot open folder of \(path) to sync it")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw SQLiteError(
                code: SQLITE_IOERR, message: "cannot sync folder of \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteError) {
        let result = sqlite3_exec(handle, sql, nil, nil, nil)
        guard result == SQLITE_OK else { throw SQLiteError(code: result, connection: handle) }
    }

    /// Compiles one statement.
    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw SQLiteError(code: result, connection: handle) }
        return SQLiteStatement(statement: statement, connection: handle)
    }

    /// The rowid of the last successful INSERT.
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }
    /// Rows changed since the connection opened.
    var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// Whether no transaction is open.
    var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// Runs one query with positional parameters and maps every row.
    func rows<Row>(_ sql: String, _ parameters: [SQLiteValue], _ map: (SQLiteStatement) -> Row) throws(SQLiteError)
        -> [Row]
    {
        let statement = try prepare(sql)
        for (offset, parameter) in parameters.enumerated() {
            switch parameter {
            case .text(let text): try statement.bind(text, at: Int32(offset + 1))
            case .integer(let number): try statement.bind(number, at: Int32(offset + 1))
            case .null: try statement.bind(nil as String?, at: Int32(offset + 1))
            case .blob(let bytes): try statement.bind(bytes: bytes, at: Int32(offset + 1))
            }
        }
        var result: [Row] = []
        while try statement.step() { result.append(map(statement)) }
        return result
    }

    /// Runs a statement built for both backends (``SQLStatement``) and maps every row.
    func rows<Row>(_ statement: SQLStatement, _ map: (SQLiteStatement) -> Row) throws(SQLiteError) -> [Row] {
        try rows(
            statement.sql,
            statement.arguments.flatMap { argument -> [SQLiteValue] in
                switch argument {
                case .text(let text): [.text(text)]
                case .integer(let number): [.integer(number)]
                case .texts(let texts): texts.map(SQLiteValue.text)
                case .integers(let numbers): numbers.map(SQLiteValue.integer)
                }
            },
            map)
    }

    /// The first column of the first row of `sql` as text (for PRAGMA answers).
    func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(at: 0)
    }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case text(String)
    case integer(Int64)
    case null
    case blob([UInt8])

    /// Text, or NULL for nil.
    static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
}
