import Foundation
import GigsRelayTesting
import Testing

@testable import GigsRelay

/// The key declarations are the one list of configuration keys: the reference, `config check`, the
/// reload classification and the example file must agree with them.
@Suite("Configuration key table")
struct ConfigurationKeyTableTests {
    /// A configuration that sets every section, with an action of every kind (one ordered).
    static let everything = """
        [webhook]
        secrets = ["env:A"]
        [store]
        url = "postgres://relay@127.0.0.1/relay"
        password = "env:PG"
        [admin]
        token = "env:T"
        [gigs]
        project = "prj"
        token = "env:G"
        [smtp]
        host = "127.0.0.1"
        starttls = "none"
        from = "Relay <relay@example.com>"
        [actions.hook]
        kind = "http"
        url = "https://backend.example.com/hook"
        secret = "env:S"
        headers = { "X-Team" = "ops" }
        ordering = "subject"
        rate_per_second = 2
        [actions.run]
        kind = "exec"
        command = ["/bin/true"]
        [actions.mail]
        kind = "email"
        to = ["ops@example.com"]
        [actions.links]
        kind = "esim-install-links"
        channel = "http"
        url = "https://backend.example.com/links"
        secret = "env:L"
        [actions.links-mail]
        kind = "esim-install-links"
        channel = "email"
        [[routes]]
        events = ["*"]
        where = { "/data/sim/type" = "eSIM" }
        actions = ["hook"]
        """

    @Test(
        "docs/configuration.md is the generated reference (run `gigs-relay config reference > docs/configuration.md`)")
    func referenceIsCurrent() throws {
        let file = try String(contentsOfFile: Repository.path("docs/configuration.md"), encoding: .utf8)
        #expect(file == ConfigurationReference.markdown, "run: gigs-relay config reference > docs/configuration.md")
    }

    @Test("config check prints every declared key of every section, once, and nothing else")
    func effectiveNamesDeclaredKeys() throws {
        let declared = Dictionary(
            ConfigurationReference.sections.filter { $0.name != ActionConfiguration.section.name }.map {
                ($0.name, $0.keys.map(\.name))
            }, uniquingKeysWith: { first, _ in first })
        for configuration in [
            try RelayConfiguration(toml: "[webhook]\nsecrets = [\"env:A\"]"),
            try RelayConfiguration(toml: Self.everything),
        ] {
            for section in configuration.effectiveSections {
                let names = section.keys.map(\.key.name)
                if section.name.hasPrefix("actions.") {
                    let action = try #require(configuration.actions[String(section.name.dropFirst(8))])
                    let expected =
                        ActionConfiguration.section.keys.map(\.name) + type(of: action.settings).keys.map(\.name)
                    #expect(names.sorted() == expected.sorted(), "\(section.name)")
                } else {
                    #expect(names == declared[section.name], "\(section.name)")
                }
            }
        }
        let sections = try RelayConfiguration(toml: Self.everything).effectiveSections.map(\.name)
        #expect(sections.contains("gigs") && sections.contains("smtp") && sections.contains("[routes]"))
        #expect(sections.filter { $0.hasPrefix("actions.") }.count == 5)
    }

    @Test("Everything config check prints reads back to the same configuration")
    func effectiveReadsBack() throws {
        let shown = try RelayConfiguration(toml: Self.everything).effectiveTOML
        #expect(try RelayConfiguration(toml: shown).effectiveTOML == shown)
        #expect(shown.contains("# max_pending is not set"))
        #expect(shown.contains("pool_size = 8"))
        #expect(shown.contains("# path is not set"))
    }

    @Test("Every declared key is in config/gigs-relay.example.toml, the fixed sections' in their own table")
    func exampleNamesEveryKey() throws {
        let example = try String(
            contentsOfFile: Repository.path("config/gigs-relay.example.toml"), encoding: .utf8)
        let lines = example.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        func mentions(_ name: String, in lines: some Sequence<String>) -> Bool {
            lines.contains { $0.hasPrefix("\(name) =") || $0.hasPrefix("# \(name) =") }
        }
        let fixed = [
            RelayConfiguration.Server.section, RelayConfiguration.Store.section, RelayConfiguration.Webhook.section,
            RelayConfiguration.Log.section, RelayConfiguration.Admin.section, RelayConfiguration.Ready.section,
            RelayConfiguration.Privacy.section,
            DispatchConfiguration.section,
        ]
        for section in fixed {
            let start = try #require(lines.firstIndex(of: "[\(section.name)]"), "[\(section.name)]")
            let table = lines[(start + 1)...].prefix { !$0.hasPrefix("[") }
            for key in section.keys {
                let found = mentions(key.name, in: table)
                #expect(found, "[\(section.name)] has no line for \(key.name)")
            }
        }
        for section in ConfigurationReference.sections {
            for key in section.keys {
                let found = mentions(key.name, in: lines)
                #expect(found, "no line for \(section.name).\(key.name)")
            }
        }
    }

    @Test("A reload names exactly the changed keys declared as needing a restart")
    func reloadClassification() throws {
        let base = "[webhook]\nsecrets = [\"env:A\"]\n"
        let running = try RelayConfiguration(toml: base)
        let changed = try RelayConfiguration(
            toml: """
                [webhook]
                secrets = ["env:A", "env:B"]
                tolerance_seconds = 60
                path = "/hooks"
                [admin]
                redact = ["/data/user/email"]
                [store]
                retention_days = 7
                [dispatch]
                max_attempts = 3
                """)
        #expect(changed.restartOnlyChanges(from: running) == ["store.retention_days", "webhook.path", "admin.redact"])
        let declaredRestart = ConfigurationReference.sections.flatMap { section in
            section.keys.filter { $0.reload == .needsRestart }.map { "\(section.name).\($0.name)" }
        }
        #expect(declaredRestart.contains("server.listen") && !declaredRestart.contains("webhook.secrets"))
        #expect(declaredRestart.allSatisfy { !$0.hasPrefix("actions.") && !$0.hasPrefix("[routes]") })
    }

    @Test("A reload names every changed key it cannot apply: timeouts, limits, proxies, log format")
    func restartOnlyKeys() throws {
        let base = "[webhook]\nsecrets = [\"env:A\"]\n"
        let running = try RelayConfiguration(toml: base)
        let changed = try RelayConfiguration(
            toml: """
                [server]
                header_timeout_seconds = 5
                body_timeout_seconds = 20
                max_connections = 10
                trusted_proxies = ["127.0.0.1/32"]
                max_failed_verifications = 3
                failed_verification_window_seconds = 30
                [log]
                format = "json"
                \(base)
                """)
        #expect(
            changed.restartOnlyChanges(from: running) == [
                "server.header_timeout_seconds", "server.body_timeout_seconds", "server.max_connections",
                "server.trusted_proxies", "server.max_failed_verifications",
                "server.failed_verification_window_seconds", "log.format",
            ])
        #expect(running.restartOnlyChanges(from: running).isEmpty)
    }
}
