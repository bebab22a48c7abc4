import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// A folder with a configuration for the real binary, and helpers to run it and post signed events to it.
///
/// The daemon listens on 127.0.0.1 port 0 and stores its SQLite file under `var/` of the folder.
public struct DaemonFixture: Sendable {
    public let directory = TemporaryDirectory()
    public let signer = TestSigner(secret: TestSigner.randomSecret())
    public let configPath: String

    /// The store's path.
    public var storePath: String { directory.file("var/events.sqlite3") }

    /// The PostgreSQL store, when the fixture uses one instead of the SQLite file.
    public let postgres: (url: String, password: String)?

    /// Environment giving the daemon its secrets the way operators do: variables named by the config.
    public var environment: [String: String] {
        var environment = ["GIGS_WEBHOOK_SECRET": signer.encodedSecret]
        if let postgres { environment["GIGS_STORE_PASSWORD"] = postgres.password }
        return environment
    }

    /// - Parameters:
    ///   - serverTOML: more `[server]` keys.
    ///   - extraTOML: more configuration, appended to the minimal file.
    ///   - postgres: a PostgreSQL store (`store.url`, and the password, given as `env:GIGS_STORE_PASSWORD`)
    ///     instead of the SQLite file.
    ///   - storeTOML: more `[store]` keys.
    public init(
        logLevel: String = "info",
        logFormat: String = "text",
        serverTOML: String = "",
        extraTOML: String = "",
        postgres: (url: String, password: String)? = nil,
        storeTOML: String = ""
    ) throws {
        self.postgres = postgres
        let store =
            if let postgres {
                "url = \"\(postgres.url)\"\npassword = \"env:GIGS_STORE_PASSWORD\"\n\(storeTOML)"
            } else {
                "path = \"var/events.sqlite3\"\n\(storeTOML)"
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
