/// How the two backends spell what their shared SQL leaves open: placeholders, list parameters, index
/// hints and an empty blob. Everything else (the statements' shape, `ON CONFLICT` upserts, row-value
/// comparisons) both read alike, so each statement is written once, above the backends.
///
/// Fixed statements number their parameters `$1`, `$2`, … in the order they first appear: PostgreSQL
/// reads them as positions and SQLite as named parameters numbered in that same order. Statements
/// built from a filter use ``SQLStatement``, which asks the dialect.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// The placeholder of parameter `number` (from 1).
    func placeholder(_ number: Int) -> String {
        switch self {
        case .sqlite: "?\(number)"
        case .postgres: "$\(number)"
        }
    }

    /// A hint that SQLite reads a table through `index` (PostgreSQL's planner takes none).
    func indexedBy(_ index: String) -> String {
        switch self {
        case .sqlite: "INDEXED BY \(index)"
        case .postgres: ""
        }
    }

    /// An empty blob, for listings that leave bodies out.
    var emptyBlob: String {
        switch self {
        case .sqlite: "x''"
        case .postgres: "''::bytea"
        }
    }
}

/// A statement and its arguments in order, built for one dialect.
struct SQLStatement: Sendable {
    let dialect: SQLDialect
    private(set) var sql = ""
    private(set) var arguments: [SQLArgument] = []

    init(_ dialect: SQLDialect) {
        self.dialect = dialect
    }

    /// Appends an argument and returns its placeholder.
    mutating func bind(_ argument: SQLArgument) -> String {
        arguments.append(argument)
        return dialect.placeholder(arguments.count)
    }

    mutating func bind(_ text: String) -> String { bind(.text(text)) }
    mutating func bind(_ number: Int64) -> String { bind(.integer(number)) }

    /// Binds a list of texts and returns what goes inside `IN (…)`: one placeholder per text in SQLite,
    /// one array unnested in PostgreSQL.
    mutating func bindList(_ texts: [String]) -> String {
        switch dialect {
        case .sqlite: texts.map { bind($0) }.joined(separator: ", ")
        case .postgres: "SELECT unnest(\(bind(.texts(texts)))::text[])"
        }
    }

    /// Binds a list of numbers, as ``bindList(_:)-([String])`` does texts.
    mutating func bindList(_ numbers: [Int64]) -> String {
        switch dialect {
        case .sqlite: numbers.map { bind($0) }.joined(separator: ", ")
        case .postgres: "SELECT unnest(\(bind(.integers(numbers)))::int8[])"
        }
    }

    /// Appends SQL text.
    mutating func append(_ text: String) {
        sql += text
    }

    /// `WHERE` and the conditions joined by `AND`, or nothing when there are none.
    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }
}

/// An argument of a ``SQLStatement``.
enum SQLArgument: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    /// A PostgreSQL array (SQLite statements bind list items one by one).
    case texts([String])
    /// A PostgreSQL array of numbers.
    case integers([Int64])
}
