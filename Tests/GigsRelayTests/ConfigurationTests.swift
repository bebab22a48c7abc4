import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    static var examplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/gigs-relay.example.toml").path
    }

    func error(_ toml: String) -> ConfigurationError? {
        do {
            _ = try RelayConfiguration(toml: toml)
            return nil
        } catch {
            return error
        }
    }

    @Test("The shipped example parses and holds the documented defaults")
    func example() throws {
        let configuration = try RelayConfiguration.load(path: Self.examplePath)
        #expect(configuration.server.listen == .tcp(host: "127.0.0.1", port: 8080))
        #expect(configuration.server.maxBodyBytes == 1_048_576)
        #expect(configuration.store.path == "var/gigs-relay.sqlite3")
        #expect(configuration.webhook.path == "/webhooks/gigs")
        #expect(configuration.webhook.toleranceSeconds == 300)
        #expect(configuration.webhook.secrets == [.environment("GIGS_WEBHOOK_SECRET")])
    }

    @Test("Every key of the issue's example is read")
    func allKeys() throws {
        let configuration = try RelayConfiguration(
            toml: """
                [server]
                listen = "unix:/run/gigs-relay/http.sock"
                max_body_bytes = 4096
                [store]
                path = "/var/lib/gigs-relay/events.sqlite3"
                [webhook]
                path = "/hooks/gigs"
                tolerance_seconds = 60
                secrets = ["env:GIGS_WEBHOOK_SECRET", "file:/etc/gigs-relay/webhook-secret", "credential:webhook"]
                """
        )
        #expect(configuration.server.listen == .unix(path: "/run/gigs-relay/http.sock"))
        #expect(configuration.server.maxBodyBytes == 4096)
        #expect(configuration.store.path == "/var/lib/gigs-relay/events.sqlite3")
        #expect(configuration.webhook.path == "/hooks/gigs")
        #expect(configuration.webhook.toleranceSeconds == 60)
        #expect(
            configuration.webhook.secrets == [
                .environment("GIGS_WEBHOOK_SECRET"), .file("/etc/gigs-relay/webhook-secret"), .credential("webhook"),
            ]
        )
    }

    @Test("A literal secret is refused, naming the key and never echoing the value")
    func literalSecretRefused() throws {
        let literal = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let failure = try #require(error("[webhook]\nsecrets = [\"env:A\", \"\(literal)\"]"))
        #expect(failure.key == "webhook.secrets[1]")
        #expect(!failure.description.contains("MfKQ9r8"))
    }

    @Test(
        "Bad values fail naming the key",
        arguments: [
            ("[webhook]\nsecrets = []", "webhook.secrets"),
            ("[server]\nlisten = \"nowhere\"\n[webhook]\nsecrets = [\"env:A\"]", "server.listen"),
            ("[server]\nmax_body_bytes = 0\n[webhook]\nsecrets = [\"env:A\"]", "server.max_body_bytes"),
            ("[server]\nlistn = \"x\"\n[webhook]\nsecrets = [\"env:A\"]", "server.listn"),
            ("[webhook]\npath = \"hooks\"\nsecrets = [\"env:A\"]", "webhook.path"),
            ("[webhook]\ntolerance_seconds = \"5\"\nsecrets = [\"env:A\"]", "webhook.tolerance_seconds"),
            ("[webhook]\nsecrets = [\"env:A\"]\n[dispatcher]\nworkers = 1", "dispatcher"),
            ("[log]\nlevel = \"loud\"\n[webhook]\nsecrets = [\"env:A\"]", "log.level"),
        ])
    func badValues(toml: String, key: String) throws {
        let failure = try #require(error(toml))
        #expect(failure.key == key)
    }

    @Test("Invalid TOML is reported")
    func invalidTOML() throws {
        let failure = try #require(error("[server\nlisten = 1"))
        #expect(failure.description.contains("invalid TOML"))
    }

    @Test("Secret references resolve from the environment, files and systemd credentials")
    func resolution() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let first = TestSigner.randomSecret()
        let second = TestSigner.randomSecret()
        let third = TestSigner.randomSecret()
        let file = try directory.write("secret", second + "\n")
        try directory.write("webhook", third)
        let configuration = try RelayConfiguration(
            toml: "[webhook]\nsecrets = [\"env:HOOK\", \"file:\(file)\", \"credential:webhook\"]"
        )
        let secrets = try configuration.resolveWebhookSecrets(
            environment: ["HOOK": first, "CREDENTIALS_DIRECTORY": directory.path]
        )
        #expect(secrets.count == 3)

        #expect(throws: ConfigurationError.self) { try configuration.resolveWebhookSecrets(environment: [:]) }
        let notASecret = try RelayConfiguration(toml: "[webhook]\nsecrets = [\"env:HOOK\"]")
        do {
            _ = try notASecret.resolveWebhookSecrets(environment: ["HOOK": "hunter2-not-base64!"])
            Issue.record("a malformed secret was accepted")
        } catch {
            #expect(error.key == "webhook.secrets[0]")
            #expect(!error.description.contains("hunter2"))
        }
    }
}
