import Foundation
import Logging
import TOMLKit

/// The daemon's settings, parsed and validated from a TOML file.
///
/// Every key is declared once, with its type, range, default, reload behaviour and meaning, beside the
/// section type it fills (`Server.Keys`, `DispatchConfiguration.Keys`, …); `docs/configuration.md` is
/// generated from those declarations (``ConfigurationReference``). Unknown sections and keys are
/// refused, so a typo fails at start-up instead of being silently ignored.
public struct RelayConfiguration: Sendable {
    /// `[server]`: the HTTP listener.
    public var server: Server
    /// `[store]`: the event log.
    public var store: Store
    /// `[webhook]`: what a genuine Gigs delivery looks like.
    public var webhook: Webhook
    /// `[log]`: logging.
    public var log: Log
    /// `[admin]`: health, metrics, the operator API and the console.
    public var admin: Admin
    /// `[ready]`: when `/readyz` says the backlog is too large.
    public var ready: Ready
    /// `[dispatch]`: workers, leases and retry defaults.
    public var dispatch: DispatchConfiguration
    /// `[[routes]]`: event types to action names.
    public var routes: [RouteConfiguration] = []
    /// `[actions.NAME]`: the notifier actions, by name.
    public var actions: [String: ActionConfiguration] = [:]
    /// `[gigs]`: the Gigs REST API, for actions that look things up; nil when the section is absent.
    public var gigs: GigsAPIConfiguration?
    /// `[smtp]`: the mail server for email actions; nil when the section is absent.
    public var smtp: SMTPConfiguration?
    /// `[privacy]`: erasure when Gigs deletes a user.
    public var privacy: Privacy
    /// `[reconcile]`: reconciliation on a schedule; nil when the section is absent.
    public var reconcile: ReconcileConfiguration?
    /// `[tracing]`: OpenTelemetry traces; nil when the section is absent (tracing off).
    public var tracing: Tracing?

    /// A configuration with every default and the given secrets, at least one (for tests and embedding).
    public init(secrets: [SecretReference]) {
        let text = "[webhook]\nsecrets = \(TOMLText.list(secrets.map(\.description)))"
        do {
            try self.init(toml: text)
        } catch {
            preconditionFailure("the declared defaults are valid and a secret was given: \(error)")
        }
    }

    /// Reads and validates a TOML configuration file.
    public static func load(path: String) throws(ConfigurationError) -> RelayConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: "", "cannot read configuration file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(key: "", "configuration file \(path) is not UTF-8 text")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try RelayConfiguration(toml: text, baseDirectory: folder)
    }

    /// Parses and validates TOML text; the error names the first key at fault.
    ///
    /// - Parameter baseDirectory: where relative template folders start (the configuration file's folder).
    public init(toml text: String, baseDirectory: String = ".") throws(ConfigurationError) {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(key: "", "invalid TOML: \(error.description) (\(error.source.debugDescription))")
        } catch {
            throw ConfigurationError(key: "", "invalid TOML")
        }
        try self.init(file: TOMLSectionReader(root: root), baseDirectory: baseDirectory)
    }

    private init(file: TOMLSectionReader, baseDirectory: String) throws(ConfigurationError) {
        server = try file.read(Server.section, Server.init(section:))
        store = try file.read(Store.section, Store.init(section:))
        webhook = try file.read(Webhook.section, Webhook.init(section:))
        log = try file.read(Log.section, Log.init(section:))
        admin = try file.read(Admin.section, Admin.init(section:))
        let adminListener = admin.listen ?? server.listen
        if admin.token == nil, !adminListener.isLocal {
            throw ConfigurationError(
                key: "admin.token",
                "is required: the operator API is served on \(adminListener), which is not loopback "
                    + "(set admin.token = \"credential:admin-token\", or admin.listen = \"127.0.0.1:9464\")")
        }
        ready = try file.read(Ready.section, Ready.init(section:))
        privacy = try file.read(Privacy.section, Privacy.init(section:))
        dispatch = try file.read(DispatchConfiguration.section, DispatchConfiguration.init(section:))
        try parseActions(file, baseDirectory: baseDirectory)
        if let section = try file.presentSection(ReconcileConfiguration.section.name) {
            guard gigs != nil else {
                throw ConfigurationError(key: "reconcile", "reads the Gigs API: configure [gigs] too")
            }
            reconcile = try ReconcileConfiguration(section: section)
            try section.refuseUnknownKeys()
        }
        if let section = try file.presentSection(Tracing.section.name) {
            tracing = try Tracing(section: section)
            try section.refuseUnknownKeys()
        }
        try file.refuseUnknownSections(known: [
            "server", "store", "webhook", "log", "dispatch", "routes", "actions", "gigs", "smtp", "reconcile", "admin",
            "ready", "privacy", "tracing",
        ])
    }

    private mutating func parseActions(_ file: TOMLSectionReader, baseDirectory: String) throws(ConfigurationError) {
        let gigsSection = try file.section("gigs")
        if !gigsSection.isEmpty {
            gigs = try GigsAPIConfiguration(section: gigsSection)
            try gigsSection.refuseUnknownKeys()
        }
        let smtpSection = try file.section("smtp")
        if !smtpSection.isEmpty {
            smtp = try SMTPConfiguration(section: smtpSection)
        }
        for (name, section) in try file.namedSections("actions") {
            actions[name] = try ActionConfiguration(
                name: name, section: section, dispatch: self.dispatch, gigs: gigs, smtp: smtp,
                baseDirectory: baseDirectory)
        }
        for section in try file.sections("routes") {
            routes.append(try RouteConfiguration(section: section, actions: Set(actions.keys)))
            try section.refuseUnknownKeys()
        }
    }

    /// Reads every configured webhook secret.
    ///
    /// - Parameter environment: the process environment, used for `env:` and `credential:` references.
    public func resolveWebhookSecrets(environment: [String: String]) throws(ConfigurationError) -> [WebhookSecret] {
        try webhook.secrets.enumerated().map { (index, reference) throws(ConfigurationError) in
            let key = "webhook.secrets[\(index)]"
            let value = try reference.resolve(key: key, environment: environment)
            do {
                return try WebhookSecret(encoded: value)
            } catch {
                throw ConfigurationError(
                    key: key,
                    "\(reference) is not a signing secret: expected \"whsec_\" followed by base64"
                )
            }
        }
    }
}
