extension RelayConfiguration {
    /// `[store]`: the event log: a SQLite file (`path`, the default) or a PostgreSQL database (`url`).
    public struct Store: Sendable {
        public var path: String
        public var url: PostgresURL?
        public var password: SecretReference?
        public var poolSize: Int
        public var retentionDays: Int
        /// The key new payloads are sealed with (``PayloadSealer``); nil stores them in plaintext.
        public var encryptionKey: SecretReference?
        /// Keys rows may still be sealed with: read, never written.
        public var previousEncryptionKeys: [SecretReference]
    }
}

extension RelayConfiguration.Store {
    enum Keys {
        static let path = ConfigKey.string(
            "path", form: "file path", default: "var/gigs-relay.sqlite3", reload: .needsRestart,
            "the SQLite event log; relative paths start at the working directory")
        static let url = ConfigKey.string(
            "url", form: "`postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=FILE]`",
            reload: .needsRestart,
            "a PostgreSQL store instead of `path` (give exactly one), shared by every instance that names it; no password in it. TLS is `verify-full` unless the host is loopback (`disable`) or `sslmode` says otherwise"
        )
        static let password = ConfigKey.secret(
            "password", reload: .needsRestart, "the PostgreSQL password (with `url` only); never logged or printed")
        static let poolSize = ConfigKey.integer(
            "pool_size", in: 2...200, default: 8, reload: .needsRestart,
            "connections to PostgreSQL each instance keeps at most (with `url` only)")
        static let retentionDays = ConfigKey.integer(
            "retention_days", in: 0...36_500, default: 30, reload: .needsRestart,
            "events older than this whose deliveries all succeeded or were skipped are removed in the background; 0 keeps everything"
        )
        static let encryptionKey = ConfigKey.secret(
            "encryption_key", reload: .needsRestart,
            "32 random bytes, base64 (`openssl rand -base64 32`): every stored payload, and the attempt errors and outputs derived from it, is sealed with AES-256-GCM under it; a store holding sealed rows refuses to start without the keys that open them. See [encryption](encryption.md)"
        )
        static let previousEncryptionKeys = ConfigKey.secrets(
            "previous_encryption_keys", required: false, reload: .needsRestart,
            "keys rows may still be sealed with (after a key change, until `gigs-relay store rekey` moved them all): read, never written"
        )
    }

    static let section = ConfigSection(
        name: "store",
        summary: "The event log. See [storage](storage.md) and [PostgreSQL](postgresql.md).",
        keys: [
            Keys.path, Keys.url, Keys.password, Keys.poolSize, Keys.retentionDays, Keys.encryptionKey,
            Keys.previousEncryptionKeys,
        ])

    init(section: TOMLSection) throws(ConfigurationError) {
        path = try section.read(Keys.path)
        guard !path.isEmpty else { throw ConfigurationError(key: section.key(Keys.path), "must not be empty") }
        url = try section.value(Keys.url).map { (text) throws(ConfigurationError) in
            guard !section.contains(Keys.path.name) else {
                throw ConfigurationError(key: section.key(Keys.url), "give exactly one of store.path and store.url")
            }
            return try PostgresURL(parsing: text, key: section.key(Keys.url))
        }
        for key in [Keys.password.name, Keys.poolSize.name] where url == nil && section.contains(key) {
            throw ConfigurationError(key: section.key(key), "is for store.url (PostgreSQL) only")
        }
        password = try section.value(Keys.password)
        poolSize = try section.read(Keys.poolSize)
        retentionDays = try section.read(Keys.retentionDays)
        encryptionKey = try section.value(Keys.encryptionKey)
        previousEncryptionKeys = try section.value(Keys.previousEncryptionKeys)
        if encryptionKey == nil, !previousEncryptionKeys.isEmpty {
            throw ConfigurationError(
                key: section.key(Keys.previousEncryptionKeys),
                "needs store.encryption_key, the key rows are sealed with now")
        }
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.path.effective(url == nil ? path : nil), Keys.url.effective(url?.description),
            Keys.password.effective(password), Keys.poolSize.effective(url == nil ? nil : poolSize),
            Keys.retentionDays.effective(retentionDays), Keys.encryptionKey.effective(encryptionKey),
            Keys.previousEncryptionKeys.effective(previousEncryptionKeys.isEmpty ? nil : previousEncryptionKeys),
        ]
    }
}
