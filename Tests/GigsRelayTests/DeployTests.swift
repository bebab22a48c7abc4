import AsyncHTTPClient
import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// The shipped deployment files: install.sh, the systemd unit, and nginx in front of the real binary.
@Suite("Deployment files", .serialized)
struct DeployTests {
    /// Runs a command from the repository root.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        try runTool(arguments, environment: environment, directory: Repository.root)
    }

    @Test("install.sh installs binary, unit, config and templates, and keeps an operator's edits")
    func install() throws {
        let stage = TemporaryDirectory(prefix: "gigs-relay-install")
        defer { stage.remove() }
        let environment = ["DESTDIR": stage.path, "PREFIX": "/usr/local"]
        let (status, output) = try run(
            ["deploy/install.sh", "--binary", RelayProcess.binaryPath], environment: environment)
        #expect(status == 0, "\(output)")
        let etc = stage.file("etc/gigs-relay")
        for path in [
            "usr/local/bin/gigs-relay", "etc/systemd/system/gigs-relay.service",
            "etc/systemd/system/gigs-relay.socket", "etc/gigs-relay/gigs-relay.toml",
            "etc/gigs-relay/templates/install-links/en.text.mustache",
            "etc/gigs-relay/templates/email/default.subject.mustache", "etc/gigs-relay/credentials/webhook-secret",
        ] {
            #expect(FileManager.default.fileExists(atPath: stage.file(path)), "missing \(path)")
        }
        let credentials = try FileManager.default.attributesOfItem(atPath: "\(etc)/credentials")
        #expect((credentials[.posixPermissions] as? Int) == 0o700)
        // A random console token, readable by root only, kept by a second install.
        let adminToken = try String(contentsOfFile: "\(etc)/credentials/admin-token", encoding: .utf8)
        #expect(adminToken.count >= 40 && !adminToken.contains("\n"))
        let tokenFile = try FileManager.default.attributesOfItem(atPath: "\(etc)/credentials/admin-token")
        #expect((tokenFile[.posixPermissions] as? Int) == 0o600)

        // The installed configuration is valid once its secret is in place.
        try TestSigner.randomSecret().write(
            toFile: "\(etc)/credentials/webhook-secret", atomically: true, encoding: .utf8)
        let (checked, report) = try run(
            [RelayProcess.binaryPath, "config", "check", "--config", "\(etc)/gigs-relay.toml"],
            environment: ["CREDENTIALS_DIRECTORY": "\(etc)/credentials"])
        #expect(checked == 0, "\(report)")
        // config check reads admin.token too, as serve does: without its credential it fails, naming it.
        let partial = TemporaryDirectory(prefix: "gigs-relay-credentials")
        defer { partial.remove() }
        try FileManager.default.copyItem(
            atPath: "\(etc)/credentials/webhook-secret", toPath: partial.file("webhook-secret"))
        let (unchecked, missing) = try run(
            [RelayProcess.binaryPath, "config", "check", "--config", "\(etc)/gigs-relay.toml"],
            environment: ["CREDENTIALS_DIRECTORY": partial.path])
        #expect(unchecked != 0 && missing.contains("admin.token"), "\(missing)")
        #expect(report.contains(#"secrets = ["credential:webhook-secret"]"#))

        // An edited configuration survives a second install; the shipped one lands beside it.
        let edited = try String(contentsOfFile: "\(etc)/gigs-relay.toml", encoding: .utf8) + "\n# edited by ops\n"
        try edited.write(toFile: "\(etc)/gigs-relay.toml", atomically: true, encoding: .utf8)
        let (again, said) = try run(
            ["deploy/install.sh", "--binary", RelayProcess.binaryPath], environment: environment)
        #expect(again == 0)
        #expect(said.contains("kept"))
        #expect(try String(contentsOfFile: "\(etc)/gigs-relay.toml", encoding: .utf8) == edited)
        #expect(FileManager.default.fileExists(atPath: "\(etc)/gigs-relay.toml.new"))
        #expect(try String(contentsOfFile: "\(etc)/credentials/webhook-secret", encoding: .utf8).hasPrefix("whsec_"))
        #expect(try String(contentsOfFile: "\(etc)/credentials/admin-token", encoding: .utf8) == adminToken)
    }

    @Test("systemd-analyze verify accepts the service and socket units without a single warning")
    func unitVerifies() throws {
        let directory = TemporaryDirectory(prefix: "gigs-relay-unit")
        defer { directory.remove() }
        let unit = try String(contentsOfFile: Repository.path("deploy/gigs-relay.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/gigs-relay", with: RelayProcess.binaryPath)
        let path = try directory.write("gigs-relay.service", unit)
        let socket = try directory.write(
            "gigs-relay.socket",
            try String(contentsOfFile: Repository.path("deploy/gigs-relay.socket"), encoding: .utf8))
        let (status, output) = try run(["systemd-analyze", "verify", path, socket])
        #expect(status == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(output)")
        for setting in [
            "Type=notify", "WatchdogSec=", "MemoryMax=", "TasksMax=", "DynamicUser=yes", "StateDirectory=gigs-relay",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes", "PrivateTmp=yes", "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
            "CapabilityBoundingSet=\n", "LoadCredential=webhook-secret:", "LoadCredential=gigs-api-token:",
            "LoadCredential=smtp-password:", "LoadCredential=admin-token:", "ExecReload=",
        ] {
            #expect(unit.contains(setting), "the unit lacks \(setting)")
        }
    }

    @Test("Socket activation: the daemon serves on the socket it is handed and binds nothing itself")
    func socketActivation() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let socket = try NotifySocket(path: fixture.directory.file("notify.sock"))
        let (daemon, address) = try activated(fixture, environment: ["NOTIFY_SOCKET": socket.path])
        // The first connection waits in the activation socket's backlog until the daemon accepts it.
        try await eventuallyAsync("the activated daemon answers") {
            try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_activated"), to: address) == 202
        }
        #expect(try await daemon.listenAddress() == address)
        #expect(daemon.log.contains("Serving on the socket systemd passed"))
        try await socket.waitFor("READY=1")
        #expect(try await fixture.get("/healthz", from: address) == 200)
        try await daemon.stop()
        #expect(try EventLogReader(path: fixture.storePath).rowCount(id: EventID("evt_activated")) == 1)
    }

    /// `gigs-relay serve` started by `systemd-socket-activate` on a free loopback port; returns it and
    /// that address.
    func activated(_ fixture: DaemonFixture, environment: [String: String] = [:]) throws -> (RelayProcess, String) {
        let port = try freeLoopbackPort()
        let passed = ["GIGS_WEBHOOK_SECRET"] + environment.keys.sorted()
        let daemon = try RelayProcess(
            arguments: ["serve", "--config", fixture.configPath],
            directory: fixture.directory.path,
            environment: fixture.environment.merging(environment) { $1 },
            launcher: ["systemd-socket-activate", "-l", "127.0.0.1:\(port)"] + passed.flatMap { ["-E", $0] }
        )
        return (daemon, "127.0.0.1:\(port)")
    }

    @Test("Under socket activation too, at max_connections further connections wait until one closes")
    func activatedConnectionCap() async throws {
        let fixture = try DaemonFixture(serverTOML: "max_connections = 2")
        defer { fixture.directory.remove() }
        let (daemon, address) = try activated(fixture)
        // systemd-socket-activate starts the daemon on the first connection; a raw one, since the test's
        // HTTP client would keep its own connection open.
        var idle: [RawHTTPConnection] = []
        try await eventually("systemd-socket-activate listens") {
            idle = [try RawHTTPConnection(address: address)]
            return true
        }
        #expect(try await daemon.listenAddress() == address)
        idle.append(try RawHTTPConnection(address: address))
        try await Task.sleep(for: .milliseconds(200))
        await #expect(throws: (any Error).self) {
            _ = try await fixture.post(SampleEvents.subscriptionActivated(), to: address, timeout: .seconds(1))
        }
        idle.removeAll()
        try await eventuallyAsync("a connection is accepted again") {
            try await fixture.post(SampleEvents.subscriptionActivated(), to: address, timeout: .seconds(2)) == 202
        }
        try await daemon.stop()
    }

    @Test("Through the shipped nginx configuration: signed events are stored; health and metrics are not exposed")
    func behindNginx() async throws {
        let fixture = try DaemonFixture(serverTOML: #"trusted_proxies = ["127.0.0.1/32", "::1/128"]"#)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let nginx = try NginxProxy(upstream: address)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(nginx.certificatePath)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        func post(_ body: [UInt8], signer: TestSigner? = nil) async throws -> Int {
            var request = HTTPClientRequest(url: "https://\(nginx.address)/webhooks/gigs")
            request.method = .POST
            for field in (signer ?? fixture.signer).headers(body: body) {
                request.headers.add(name: field.name.rawName, value: field.value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        func get(_ path: String) async throws -> Int {
            let response = try await client.execute(
                HTTPClientRequest(url: "https://\(nginx.address)\(path)"), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        do {
            let event = SampleEvents.subscriptionActivated(id: "evt_via_nginx")
            #expect(try await post(event) == 202, "\(nginx.errorLog)")
            #expect(try await post(event) == 200)
            #expect(
                try await post(
                    SampleEvents.subscriptionActivated(), signer: TestSigner(secret: TestSigner.randomSecret())) == 401)
            #expect(try await post(Array(repeating: UInt8(ascii: "x"), count: 2 * 1_048_576)) == 413)
            for path in ["/healthz", "/readyz", "/metrics", "/"] { #expect(try await get(path) == 404, "\(path)") }
            #expect(try EventLogReader(path: fixture.storePath).rowCount(id: EventID("evt_via_nginx")) == 1)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
        try await daemon.stop()
        #expect(daemon.log.contains("relay.client.address=127.0.0.1"))
    }
}
