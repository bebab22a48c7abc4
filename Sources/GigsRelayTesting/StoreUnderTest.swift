import Foundation
import GigsRelay
import Logging
import Testing

/// The two store backends the conformance suite runs on.
public enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    public var testDescription: String { rawValue }
}

/// A fresh, empty store of one backend, opened as the daemon opens it (``log``) and as the CLI does
/// (``console()``). SQLite: a file in a temporary folder. PostgreSQL: a new database on the shared
/// throwaway cluster, reached over TCP with a password from a secret reference.
public struct StoreUnderTest: Sendable {
    public let location: StoreLocation
    public let environment: [String: String]
    public let log: any EventLog
    /// The keys the log and consoles are opened with.
    public let sealer: PayloadSealer
    private let cleanup: @Sendable () -> Void

    public static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    public static func make(
        _ backend: Backend,
        handOff: DeliveryHandOff = DeliveryHandOff(),
        sealer: PayloadSealer = .plaintext
    ) async throws -> StoreUnderTest {
        let (location, environment, cleanup) = try location(backend)
        let log = try await location.openLog(
            environment: environment, logger: logger, handOff: handOff, sealer: sealer)
        return StoreUnderTest(location: location, environment: environment, log: log, sealer: sealer, cleanup: cleanup)
    }

    /// A new empty location of `backend`, the environment its password comes from, and its removal.
    public static func location(_ backend: Backend) throws -> (StoreLocation, [String: String], @Sendable () -> Void) {
        switch backend {
        case .sqlite:
            let directory = TemporaryDirectory()
            return (.sqlite(path: directory.file("events.sqlite3")), [:], { directory.remove() })
        case .postgresql:
            let cluster = try PostgresCluster.shared()
            let url = try PostgresURL(parsing: try cluster.createDatabase(), key: "store.url")
            let password = try SecretReference(parsing: "env:GIGS_TEST_PG_PASSWORD", key: "store.password")
            return (
                .postgres(url, password: password, poolSize: 8), ["GIGS_TEST_PG_PASSWORD": cluster.password], {}
            )
        }
    }

    /// Opens the store as the CLI does, with ``sealer`` unless another is given.
    public func console(sealer: PayloadSealer? = nil) async throws -> any StoreConsole {
        try await location.openConsole(environment: environment, logger: Self.logger, sealer: sealer ?? self.sealer)
    }

    /// Opens a second log on the same store (PostgreSQL: a second instance), with ``sealer`` unless another
    /// is given.
    public func openAnotherLog(sealer: PayloadSealer? = nil) async throws -> any EventLog {
        try await location.openLog(environment: environment, logger: Self.logger, sealer: sealer ?? self.sealer)
    }

    /// Runs `body` with the store, then closes and removes it.
    public static func with(
        _ backend: Backend,
        handOff: DeliveryHandOff = DeliveryHandOff(),
        sealer: PayloadSealer = .plaintext,
        _ body: (StoreUnderTest) async throws -> Void
    ) async throws {
        let store = try await make(backend, handOff: handOff, sealer: sealer)
        do {
            try await body(store)
        } catch {
            await store.log.close()
            store.cleanup()
            throw error
        }
        await store.log.close()
        store.cleanup()
    }
}
