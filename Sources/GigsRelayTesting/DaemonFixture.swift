import AsyncHTTPClient
import Foundation
import GigsRelay
import HTTPTypes
import NIOCore
import NIOHTTP1

/// A folder with a configuration for the real binary, and helpers to run it and post signed events to it.
///
/// The daemon listens on 127.0.0.1 port 0 and stores its events in a SQLite file under `var/` of the
/// folder, or in a new database of the shared PostgreSQL cluster (``init(backend:logLevel:serverTOML:extraTOML:storeTOML:)``).
/// Tests read and seed the store through the store contract (``console()``, ``deliveries(_:)``,
/// ``seed(_:)``), so the same test runs on either backend.
public struct DaemonFixture: Sendable {
    public let directory = TemporaryDirectory()
    public let signer = TestSigner(secret: TestSigner.randomSecret())
    public let configPath: String

    /// The store's path.
    public var storePath: String { directory.file("var/events.sqlite3") }

    /// The PostgreSQL store, when the fixture uses one instead of the SQLite file.
    public let postgres: (url: String, password: String)?
    /// The store's encryption key (`store.encryption_key = "env:GIGS_STORE_KEY"`), when it has one.
    public let storeKey: StoreKey?

    /// The store's keys, as the daemon and the CLI read them.
    public var sealer: PayloadSealer { PayloadSealer(current: storeKey, previous: []) }

    /// Environment giving the daemon its secrets the way operators do: variables named by the config.
    public var environment: [String: String] {
        var environment = ["GIGS_WEBHOOK_SECRET": signer.encodedSecret]
        if let postgres { environment["GIGS_STORE_PASSWORD"] = postgres.password }
        if let storeKey { environment["GIGS_STORE_KEY"] = Self.base64(storeKey) }
        return environment
    }

    /// - Parameters:
    ///   - serverTOML: more `[server]` keys.
    ///   - extraTOML: more configuration, appended to the minimal file.
    ///   - postgres: a PostgreSQL store (`store.url`, and the password, given as `env:GIGS_STORE_PASSWORD`)
    ///     instead of the SQLite file.
    ///   - storeTOML: more `[store]` keys.
    ///   - storeKey: an encryption key for the store, given as `env:GIGS_STORE_KEY`.
    public init(
        logLevel: String = "info",
        logFormat: String = "text",
        serverTOML: String = "",
        extraTOML: String = "",
        postgres: (url: String, password: String)? = nil,
        storeTOML: String = "",
        storeKey: StoreKey? = nil
    ) throws {
        self.postgres = postgres
        self.storeKey = storeKey
        let keyTOML = storeKey == nil ? "" : "encryption_key = \"env:GIGS_STORE_KEY\"\n"
        let store =
            if let postgres {
                "url = \"\(postgres.url)\"\npassword = \"env:GIGS_STORE_PASSWORD\"\n\(keyTOML)\(storeTOML)"
            } else {
                "path = \"var/events.sqlite3\"\n\(keyTOML)\(storeTOML)"
            }
        configPath = try directory.write(
            "gigs-relay.toml",
            """
            [server]
            listen = "127.0.0.1:0"
            \(serverTOML)
            [store]
            \(store)
            [webhook]
            secrets = ["env:GIGS_WEBHOOK_SECRET"]
            [log]
            level = "\(logLevel)"
            format = "\(logFormat)"
            \(extraTOML)
            """
        )
    }

    /// The same fixture on `backend`: SQLite, or a new database of the shared PostgreSQL cluster.
    public init(
        backend: Backend,
        logLevel: String = "info",
        serverTOML: String = "",
        extraTOML: String = "",
        storeTOML: String = "",
        storeKey: StoreKey? = nil
    ) throws {
        var postgres: (url: String, password: String)?
        if backend == .postgresql {
            let cluster = try PostgresCluster.shared()
            postgres = (try cluster.createDatabase(), cluster.password)
        }
        try self.init(
            logLevel: logLevel, serverTOML: serverTOML, extraTOML: extraTOML, postgres: postgres,
            storeTOML: storeTOML, storeKey: storeKey)
    }

    /// A key's bytes in base64, as `encryption_key` reads them.
    public static func base64(_ key: StoreKey) -> String { Data(key.bytes).base64EncodedString() }

    /// Which backend the fixture's store is.
    public var backend: Backend { postgres == nil ? .sqlite : .postgresql }

    /// The fixture's store, as the CLI finds it.
    public var location: StoreLocation {
        get throws {
            try StoreLocation(
                parsing: postgres?.url ?? storePath,
                password: try SecretReference(parsing: "env:GIGS_STORE_PASSWORD", key: "store.password"),
                key: "store.url")
        }
    }

    /// Opens the store as the CLI does (beside a running daemon), with ``sealer`` unless another is given;
    /// close it after use.
    public func console(sealer: PayloadSealer? = nil) async throws -> any StoreConsole {
        try await location.openConsole(
            environment: environment, logger: StoreUnderTest.logger, sealer: sealer ?? self.sealer)
    }

    /// Runs `body` with the store opened as the CLI does (with ``sealer`` unless another is given), and
    /// closes it.
    public func reading<Value: Sendable>(
        sealer: PayloadSealer? = nil, _ body: (any StoreConsole) async throws -> Value
    ) async throws -> Value {
        let console = try await console(sealer: sealer)
        do {
            let value = try await body(console)
            await console.close()
            return value
        } catch {
            await console.close()
            throw error
        }
    }

    /// The deliveries `filter` selects, read through the store contract.
    public func deliveries(_ filter: DeliveryFilter = DeliveryFilter()) async throws -> [StoredDelivery] {
        try await reading { try await $0.deliveries(filter) }
    }

    /// The attempts of one delivery, oldest first.
    public func attempts(of delivery: DeliveryID) async throws -> [StoredAttempt] {
        try await reading { try await $0.attempts(of: delivery) }
    }

    /// Writes to the store through ``EventLog`` while the daemon is not running (SQLite allows one
    /// writer process), creating and migrating it when needed.
    public func seed(_ body: (any EventLog) async throws -> Void) async throws {
        let log = try await location.openLog(environment: environment, logger: StoreUnderTest.logger, sealer: sealer)
        do {
            try await body(log)
            await log.close()
        } catch {
            await log.close()
            throw error
        }
    }

    /// Starts `gigs-relay serve` and waits until it listens.
    public func start(environment extra: [String: String] = [:]) async throws -> (RelayProcess, String) {
        let process = try RelayProcess(
            arguments: ["serve", "--config", configPath],
            directory: directory.path,
            environment: environment.merging(extra) { _, new in new }
        )
        return (process, try await process.listenAddress())
    }

    /// Runs a CLI command against this fixture's configuration.
    public func cli(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await RelayProcess.run(
            arguments + ["--config", configPath], directory: directory.path, environment: environment)
    }

    /// Posts a signed event; returns the status code.
    public func post(
        _ body: [UInt8],
        to address: String,
        messageID: String = "msg_\(UUID().uuidString)",
        signer: TestSigner? = nil,
        headers extra: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) async throws -> Int {
        var request = HTTPClientRequest(url: "http://\(address)/webhooks/gigs")
        request.method = .POST
        for field in (signer ?? self.signer).headers(id: messageID, body: body) {
            request.headers.add(name: field.name.rawName, value: field.value)
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// GET a path; returns the status code.
    public func get(_ path: String, from address: String) async throws -> Int {
        try await fetch(path, from: address).status
    }

    /// GET (or `method`) a path with `headers`; returns the status code and the body.
    public func fetch(
        _ path: String,
        from address: String,
        method: HTTPMethod = .GET,
        headers: [String: String] = [:]
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://\(address)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: body))
    }

    /// One request as a browser sends it, without following redirects: a form body
    /// (`application/x-www-form-urlencoded`) when `form` is given. Returns status, headers and body.
    public func exchange(
        _ path: String,
        from address: String,
        method: HTTPMethod = .GET,
        headers: [String: String] = [:],
        form: [(String, String)]? = nil
    ) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        var request = HTTPClientRequest(url: "http://\(address)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            let allowed = CharacterSet(
                charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
            let text = form.map { name, value in
                "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: text))
        }
        let response = try await Self.noRedirects.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), response.headers, String(buffer: body))
    }

    /// A client that returns redirects instead of following them.
    private static let noRedirects: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
