import Logging

/// Where the event log is, and how to open it: a SQLite file or a PostgreSQL database.
public enum StoreLocation: Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresURL, password: SecretReference?, poolSize: Int)

    /// The location `[store]` configures.
    public init(_ store: RelayConfiguration.Store) {
        if let url = store.url {
            self = .postgres(url, password: store.password, poolSize: store.poolSize)
        } else {
            self = .sqlite(path: store.path)
        }
    }

    /// A location given on the command line (`store copy --from/--to`): a `postgres://` URL, else a SQLite
    /// file path.
    public init(parsing text: String, password: SecretReference?, key: String) throws(ConfigurationError) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresURL(parsing: text, key: key), password: password, poolSize: 4)
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The backend's name, as `config check` and the start-up log say it.
    public var backend: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres: "postgresql"
        }
    }

    /// The file or URL (never a password).
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url, _, _): url.description
        }
    }

    /// Opens the log for the daemon: creates and migrates the store when needed.
    ///
    /// - Parameters:
    ///   - clock: the time the store stamps finishes and operator changes with.
    ///   - handOff: the daemon's dispatcher: the store leases it new deliveries it offers room for, and
    ///     wakes it after creating others.
    ///   - sealer: the `[store]` keys (``PayloadSealer``): new payloads are sealed with the current one, and
    ///     a store holding rows sealed with a key it lacks is refused (``StoreError/isConfigurationError``)
    ///     before anything is written.
    public func openLog(
        environment: [String: String],
        clock: any RelayClock = SystemClock(),
        logger: Logger,
        handOff: DeliveryHandOff = DeliveryHandOff(),
        sealer: PayloadSealer = .plaintext
    ) async throws -> any EventLog {
        switch self {
        case .sqlite(let path):
            try SQLiteStore(path: path, clock: clock, logger: logger, handOff: handOff, sealer: sealer)
        case .postgres(let url, let password, let poolSize):
            try await Self.openPostgres(
                url: url, password: password, poolSize: poolSize, environment: environment, clock: clock,
                pool: .store, logger: logger, handOff: handOff, sealer: sealer)
        }
    }

    /// Opens the store for the daemon: the log (created and migrated when needed) and the console its
    /// operator API uses beside it. On PostgreSQL they are one pool, which runs only while
    /// ``OpenedStore/runPool()`` does (``StoreService`` runs it in the daemon's service group); on SQLite
    /// the console reads through its own connection beside the writer. `handOff` links the log to the
    /// daemon's dispatcher and `sealer` gives the keys, as for
    /// ``openLog(environment:clock:logger:handOff:sealer:)``.
    public func open(
        environment: [String: String],
        clock: any RelayClock = SystemClock(),
        logger: Logger,
        handOff: DeliveryHandOff = DeliveryHandOff(),
        sealer: PayloadSealer = .plaintext
    ) async throws -> OpenedStore {
        switch self {
        case .sqlite(let path):
            let log = try SQLiteStore(
                path: path, clock: clock, logger: logger, handOff: handOff, sealer: sealer)
            do {
                return OpenedStore(log: log, console: try SQLiteConsole(path: path, clock: clock, sealer: sealer))
            } catch {
                await log.close()
                throw error
            }
        case .postgres(let url, let password, let poolSize):
            let store = try await Self.openPostgres(
                url: url, password: password, poolSize: poolSize, environment: environment, clock: clock,
                pool: .serviceGroup, logger: logger, handOff: handOff, sealer: sealer)
            return OpenedStore(log: store, console: store, pool: store)
        }
    }

    /// The daemon's PostgreSQL store, listening for other instances' new deliveries.
    private static func openPostgres(
        url: PostgresURL,
        password: SecretReference?,
        poolSize: Int,
        environment: [String: String],
        clock: any RelayClock,
        pool: PoolOwner,
        logger: Logger,
        handOff: DeliveryHandOff,
        sealer: PayloadSealer
    ) async throws -> PostgresStore {
        try await PostgresStore.open(
            url: url, password: try password?.resolve(key: "store.password", environment: environment),
            poolSize: poolSize, clock: clock, pool: pool, logger: logger, listen: true,
            handOff: handOff, sealer: sealer)
    }

    /// Opens the store for the CLI's reads and changes, beside a running daemon; a SQLite store must
    /// exist already. `sealer` gives the keys, as for ``openLog(environment:clock:logger:handOff:sealer:)``.
    public func openConsole(
        environment: [String: String], clock: any RelayClock = SystemClock(), logger: Logger,
        sealer: PayloadSealer = .plaintext
    ) async throws -> any StoreConsole {
        switch self {
        case .sqlite(let path):
            return try SQLiteConsole(path: path, clock: clock, sealer: sealer)
        case .postgres(let url, let password, let poolSize):
            return try await PostgresStore.open(
                url: url, password: try password?.resolve(key: "store.password", environment: environment),
                poolSize: min(poolSize, 4), clock: clock, logger: logger, sealer: sealer)
        }
    }

    /// Opens the store's rows for `store copy`; with `create`, a missing SQLite file is created (PostgreSQL
    /// is always migrated, so an empty database becomes an empty store).
    public func openRows(environment: [String: String], logger: Logger, create: Bool) async throws -> any StoreRows {
        switch self {
        case .sqlite(let path):
            return try SQLiteRows(path: path, create: create, logger: logger)
        case .postgres(let url, let password, let poolSize):
            return try await PostgresStore.open(
                url: url, password: try password?.resolve(key: "password", environment: environment),
                poolSize: min(poolSize, 4), logger: logger, sealer: nil)
        }
    }
}

/// A store opened for the daemon: the log it writes and the console its operator API reads and changes.
public struct OpenedStore: Sendable {
    public let log: any EventLog
    public let console: any StoreConsole
    /// The PostgreSQL store whose pool ``runPool()`` runs; nil on SQLite.
    let pool: PostgresStore?

    init(log: any EventLog, console: any StoreConsole, pool: PostgresStore? = nil) {
        self.log = log
        self.console = console
        self.pool = pool
    }

    /// Runs what the open store needs while it is used (PostgreSQL's connection pool) until the task is
    /// cancelled; returns at once on SQLite.
    public func runPool() async {
        await pool?.runPool()
    }

    /// Closes the console, then the log (which finishes what is queued first).
    public func close() async {
        if console !== log { await console.close() }
        await log.close()
    }
}
