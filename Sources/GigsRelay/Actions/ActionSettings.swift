import AsyncHTTPClient

/// One kind of notifier action (`kind = "…"` in `[actions.NAME]`): the settings it reads from the action's
/// table, how `config check` prints them, and how the runnable action is built from them.
///
/// A kind lives in its own folder under `Actions/` (its action, its settings, the pieces only it uses);
/// adding one is that folder plus its line in ``ActionKinds/all``.
protocol ActionSettings: Sendable {
    /// The `kind` value that selects it.
    static var kind: String { get }

    /// The kind's own keys, as declared (for the reference).
    static var keys: [any ConfigKeyDescription] { get }

    /// Reads the kind's own keys from the action's table; the keys every action has are read by
    /// ``ActionConfiguration``, which refuses whatever neither read.
    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError)

    /// The kind's own keys with their effective values, in file order, as `config check` prints them
    /// (secrets as their references; nil: not set).
    var effectiveKeys: [EffectiveKey] { get }

    /// The runnable action, its secret references read.
    func makeAction(_ action: ActionConfiguration, context: ActionBuildContext) throws(ConfigurationError)
        -> any DeliveryAction
}

/// What a kind's settings may depend on beyond its own table.
struct ActionSettingsContext: Sendable {
    /// The configuration file's folder, where relative template folders start.
    let baseDirectory: String
    /// `[gigs]`, when the file has it.
    let gigs: GigsAPIConfiguration?
    /// `[smtp]`, when the file has it.
    let smtp: SMTPConfiguration?
}

/// What building an action may use: the environment for its secrets, and the parts the actions share.
struct ActionBuildContext: Sendable {
    /// The process environment, for `env:` and `credential:` references.
    let environment: [String: String]
    /// The HTTP client every action shares.
    let client: HTTPClient
    /// The Gigs API client, when `[gigs]` is configured.
    let api: GigsAPIClient?
    /// The mail sender, when `[smtp]` is configured.
    let mailer: Mailer?

    /// The Gigs API client `action` needs (the settings parser already required `[gigs]`).
    func requireAPI(for action: ActionConfiguration) throws(ConfigurationError) -> GigsAPIClient {
        guard let api else { throw ConfigurationError(key: "gigs", "is required by actions.\(action.name)") }
        return api
    }

    /// The mail sender `action` needs (the settings parser already required `[smtp]`).
    func requireMailer(for action: ActionConfiguration) throws(ConfigurationError) -> Mailer {
        guard let mailer else { throw ConfigurationError(key: "smtp", "is required by actions.\(action.name)") }
        return mailer
    }

    /// Reads a `whsec_…` signing secret.
    func signingSecret(_ reference: SecretReference, key: String) throws(ConfigurationError) -> WebhookSecret {
        let value = try reference.resolve(key: key, environment: environment)
        guard let secret = try? WebhookSecret(encoded: value) else {
            throw ConfigurationError(
                key: key, "\(reference) is not a signing secret: expected \"whsec_\" followed by base64")
        }
        return secret
    }
}
