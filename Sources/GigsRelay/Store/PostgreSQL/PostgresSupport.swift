import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import PostgresNIO

/// A failure of the PostgreSQL store's own making (not the server's), with a message safe to log.
struct PostgresStoreFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension PostgresStoreFailure {
    /// A store call that did not finish within its deadline (the server unreachable or stalled).
    static func timedOut(_ deadline: Duration) -> PostgresStoreFailure {
        PostgresStoreFailure("PostgreSQL did not answer within \(deadline.components.seconds) s")
    }
}

enum PostgresErrors {
    /// What went wrong, for logs, `/readyz` and the CLI: the error class and the server's SQLSTATE and
    /// message, never the query's bound values or the password (postgres-nio's own `description` hides
    /// everything; its `debugDescription` shows binds).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            var text = "PostgreSQL \(error.code)"
            if let info = error.serverInfo {
                if let state = info[.sqlState] { text += " \(state)" }
                if let message = info[.message] { text += ": \(message)" }
            } else if let underlying = error.underlying {
                text += ": \(String(describing: type(of: underlying))) \(Self.underlyingText(underlying))"
            }
            return text.bounded(300)
        case let error as PostgresStoreFailure:
            return error.description
        case let error as PostgresDecodingError:
            return "PostgreSQL row decoding failed: \(error.code)"
        default:
            return "\(String(describing: type(of: error))): \(error)".bounded(300)
        }
    }

    private static func underlyingText(_ error: any Error) -> String {
        "\(error)".bounded(200)
    }
}

extension String {
    /// The text PostgreSQL's `text` type can hold: NUL is the one character it refuses.
    var postgresText: String {
        // A byte scan: this runs for every text column of every event.
        utf8.contains(0) ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}

/// Runs `operation` with a deadline: after `deadline` the caller gets `store_unavailable` and the
/// operation is left to end on its own (a write that commits after its caller gave up is at worst a
/// duplicate when Gigs retries). Cancelling a query that waits on a dead TCP connection does not end it,
/// which is why the operation is not a child task that the caller would wait for.
func withDeadline<Value: Sendable>(
    _ deadline: Duration,
    _ operation: @escaping @Sendable () async throws -> Value
) async throws(StoreError) -> Value {
    let result: Result<Value, StoreError> = await withCheckedContinuation { continuation in
        let once = OnceContinuation(continuation)
        let timer = Task {
            try? await Task.sleep(for: deadline)
            if !Task.isCancelled {
                once.resume(.failure(.unavailable(detail: PostgresStoreFailure.timedOut(deadline).description)))
            }
        }
        Task {
            do {
                once.resume(.success(try await operation()))
            } catch let error as StoreError {
                once.resume(.failure(error))
            } catch {
                once.resume(.failure(.unavailable(detail: PostgresErrors.describe(error))))
            }
            timer.cancel()
        }
    }
    return try result.get()
}

/// A continuation resumed by whichever of two tasks comes first.
private final class OnceContinuation<Value: Sendable>: Sendable {
    private let continuation: NIOLockedValueBox<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation = NIOLockedValueBox(continuation)
    }

    func resume(_ value: Value) {
        let continuation = continuation.withLockedValue { continuation in
            defer { continuation = nil }
            return continuation
        }
        continuation?.resume(returning: value)
    }
}

/// TLS to PostgreSQL as `sslmode` says: nothing, offered, or required, and how the certificate is checked.
enum PostgresTLS {
    case disable
    case prefer(TLSConfiguration)
    case require(TLSConfiguration)

    init(_ url: PostgresURL) {
        switch url.tlsMode {
        case .disable:
            self = .disable
        case .prefer, .require:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .none
            self = url.tlsMode == .prefer ? .prefer(settings) : .require(settings)
        case .verifyCA, .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = url.tlsMode == .verifyFull ? .fullVerification : .noHostnameVerification
            if let file = url.rootCertificateFile {
                settings.trustRoots = .file(file)
            }
            self = .require(settings)
        }
    }
}

extension PostgresClient.Configuration {
    /// The client configuration of `store.url`: TLS as `sslmode` says, short connect timeouts so an
    /// outage is noticed quickly, keep-alives so a dead connection is found.
    static func relay(url: PostgresURL, password: String?, poolSize: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch PostgresTLS(url) {
            case .disable: .disable
            case .prefer(let settings): .prefer(settings)
            case .require(let settings): .require(settings)
            }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: password, database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        // Every hot statement is prepared once per connection and takes arrays: a custom plan per execution
        // was 40 % of the server's CPU during ingest (GetCachedPlan in the profile, Benchmarks/RESULTS.md),
        // and the generic plan of each is the same one.
        configuration.options.additionalStartupParameters = [
            ("application_name", "gigs-relay"), ("plan_cache_mode", "force_generic_plan"),
        ]
        return configuration
    }
}

extension PostgresConnection.Configuration {
    /// One connection as the pool makes them, to prove at start that the server takes us: a wrong password,
    /// an unverifiable certificate or an unreachable host fails at once with its reason, where the pool
    /// would keep trying in the background.
    static func relay(url: PostgresURL, password: String?) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch PostgresTLS(url) {
            case .disable: .disable
            case .prefer(let settings): .prefer(try NIOSSLContext(configuration: settings))
            case .require(let settings): .require(try NIOSSLContext(configuration: settings))
            }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: password, database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        if case .verifyFull = url.tlsMode { configuration.options.tlsServerName = url.host }
        return configuration
    }
}

extension PostgresQuery {
    /// A statement built for both backends (``SQLStatement``), its texts made storable.
    init(_ statement: SQLStatement) {
        var bindings = PostgresBindings(capacity: statement.arguments.count)
        for argument in statement.arguments {
            switch argument {
            case .text(let text): bindings.append(text.postgresText)
            case .integer(let number): bindings.append(number)
            case .texts(let texts): bindings.append(texts.map(\.postgresText))
            case .integers(let numbers): bindings.append(numbers)
            }
        }
        self.init(unsafeSQL: statement.sql, binds: bindings)
    }
}
