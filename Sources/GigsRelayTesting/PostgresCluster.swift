import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a new cluster made by
/// `initdb` in a temporary folder and run by `pg_ctl` on a free loopback port, as the unprivileged
/// `postgres` user when the tests run as root (initdb refuses root).
///
/// Connections over TCP need ``password`` (scram-sha-256), as a production server would; the tools this
/// helper runs connect through the cluster's own Unix socket folder.
public final class PostgresCluster: Sendable {
    /// The cluster's folder (data, socket and log).
    public let directory: String
    public let port: Int
    /// The `postgres` superuser's password over TCP.
    public let password: String
    private let binaries: String
    private let runAs: [String]
    /// The server's self-signed certificate (for `localhost` and `127.0.0.1`) when it speaks TLS.
    public let certificatePath: String?

    /// The cluster every test shares (each test makes its own database); started on first use and stopped
    /// when the test process exits.
    public static func shared() throws -> PostgresCluster {
        try sharedCluster.withLockedValue { cluster in
            if let cluster { return cluster }
            let started = try PostgresCluster.start()
            cluster = started
            atexit { PostgresCluster.sharedCluster.withLockedValue { $0 }?.stop() }
            return started
        }
    }

    private static let sharedCluster = NIOLockedValueBox<PostgresCluster?>(nil)

    private init(
        directory: String, port: Int, password: String, binaries: String, runAs: [String], certificatePath: String?
    ) {
        self.certificatePath = certificatePath
        self.directory = directory
        self.port = port
        self.password = password
        self.binaries = binaries
        self.runAs = runAs
    }

    /// Makes and starts a new cluster; the caller stops it with ``stop()``. With `tls`, the server also
    /// offers TLS with a throwaway self-signed certificate (``certificatePath``).
    public static func start(tls: Bool = false) throws -> PostgresCluster {
        guard let binaries = findBinaries() else {
            throw RelayProcess.Failure(
                description: "PostgreSQL's server binaries are missing: install Debian's postgresql package")
        }
        let directory = NSTemporaryDirectory() + "/gigs-relay-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let runAs = geteuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
        let password = "pg-\(UUID().uuidString)"
        let passwordFile = directory + "/password"
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        var certificatePath: String?
        if tls {
            certificatePath = directory + "/server.crt"
            try makeSelfSignedCertificate(certificate: directory + "/server.crt", key: directory + "/server.key")
            chmod(directory + "/server.key", 0o600)
        }
        if !runAs.isEmpty {
            try check(runTool(["chown", "-R", "postgres:postgres", directory]), "chown")
        }
        try check(
            runTool(
                runAs + [
                    "\(binaries)/initdb", "-D", directory + "/data", "-U", "postgres", "--pwfile=\(passwordFile)",
                    "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
                    "--no-sync",
                ]), "initdb")
        let cluster = PostgresCluster(
            directory: directory, port: freePort(), password: password, binaries: binaries, runAs: runAs,
            certificatePath: certificatePath)
        try cluster.startServer()
        return cluster
    }

    /// `pg_ctl start`, waiting until the server takes connections.
    public func startServer() throws {
        let options =
            [
                "-c listen_addresses=127.0.0.1", "-c port=\(port)", "-c unix_socket_directories=\(directory)",
                "-c max_connections=300", "-c shared_buffers=64MB", "-c fsync=on", "-c synchronous_commit=on",
            ]
            .joined(separator: " ")
            + (certificatePath == nil
                ? "" : " -c ssl=on -c ssl_cert_file=\(directory)/server.crt -c ssl_key_file=\(directory)/server.key")
        try Self.check(
            runTool(
                runAs + [
                    "\(binaries)/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-o", options,
                    "-w", "-t", "60", "start",
                ]), "pg_ctl start")
    }

    /// `pg_ctl restart -m MODE` (`immediate` is a crash: no checkpoint, recovery on start).
    public func restart(mode: String = "immediate") throws {
        try Self.check(
            runTool(runAs + ["\(binaries)/pg_ctl", "-D", directory + "/data", "-m", mode, "-w", "-t", "60", "stop"]),
            "pg_ctl stop")
        try startServer()
    }

    /// `pg_ctl stop -m MODE` without starting again.
    public func stopServer(mode: String = "fast") throws {
        try Self.check(
            runTool(runAs + ["\(binaries)/pg_ctl", "-D", directory + "/data", "-m", mode, "-w", "-t", "60", "stop"]),
            "pg_ctl stop")
    }

    /// Stops the server and removes the cluster's folder.
    public func stop() {
        _ = try? runTool(runAs + ["\(binaries)/pg_ctl", "-D", directory + "/data", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Creates a new empty database and returns its `store.url` (the password goes separately).
    public func createDatabase(_ name: String = "relay_\(UUID().uuidString.prefix(12).lowercased())") throws
        -> String
    {
        let safe = name.replacingOccurrences(of: "-", with: "_")
        _ = try psql("CREATE DATABASE \(safe)")
        return url(database: safe)
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    public func url(database: String) -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Runs SQL with psql over the cluster's socket and returns its unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let (status, output) = try runTool(
            runAs + [
                "\(binaries)/psql", "-h", directory, "-p", "\(port)", "-U", "postgres", "-d", database,
                "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
            ])
        guard status == 0 else { throw RelayProcess.Failure(description: "psql failed (\(status)): \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `pg_dump` of a database in plain SQL (bytea values appear as hex).
    public func dump(database: String) throws -> String {
        let (status, output) = try runTool(
            runAs + ["\(binaries)/pg_dump", "-h", directory, "-p", "\(port)", "-U", "postgres", "-d", database])
        guard status == 0 else { throw RelayProcess.Failure(description: "pg_dump failed (\(status)): \(output)") }
        return output
    }

    /// The server's log so far.
    public var log: String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    private static func check(_ result: (status: Int32, output: String), _ what: String) throws {
        guard result.status == 0 else {
            throw RelayProcess.Failure(description: "\(what) failed (\(result.status)): \(result.output)")
        }
    }

    /// The newest `/usr/lib/postgresql/N/bin` holding `initdb`.
    private static func findBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted(by: >).map { "\(root)/\($0)/bin" }.first {
            FileManager.default.isExecutableFile(atPath: "\($0)/initdb")
        }
    }

    /// A loopback TCP port nothing listens on now.
    private static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
