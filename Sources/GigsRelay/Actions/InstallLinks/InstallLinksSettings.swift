import Foundation

/// Settings of a `kind = "esim-install-links"` action.
public struct InstallLinksSettings: ActionSettings {
    static let kind = "esim-install-links"

    /// Where the links go.
    public enum Channel: Sendable {
        /// `channel = "http"`: a signed JSON POST to `url`.
        case http(url: URL, secret: SecretReference)
        /// `channel = "email"`: an email to the user, from the locale's templates in `templates`.
        case email(templates: String, defaultLocale: String)
    }

    public var channel: Channel
    /// Whether the file names `templates` (then the folder must exist).
    public var templatesSet = false
    /// `allow_insecure` (channel `http`): plain http to a host that is not loopback is allowed.
    public var allowInsecure = false

    enum Keys {
        static let channel = ConfigKey.choice(
            "channel", ["email", "http"], required: true, reload: .applies,
            "`email`: the links go to the user's address; `http`: a signed JSON POST to `url`")
        static let url = ConfigKey.string(
            "url", form: "URL", note: "(required with `channel = \"http\"`)", reload: .applies,
            "where the links are POSTed; https, or plain http to loopback unless `allow_insecure`")
        static let allowInsecure = ConfigKey.bool(
            "allow_insecure", default: false, reload: .applies, "plain http to a host that is not loopback is allowed")
        static let secret = ConfigKey.secret(
            "secret", reload: .applies,
            "the `whsec_…` secret the POST is signed with (required with `channel = \"http\"`)")
        static let templates = ConfigKey.string(
            "templates", form: "folder", default: "templates/install-links", reload: .applies,
            "`LOCALE.{subject,text,html}.mustache` files that override the built-in ones (with `channel = \"email\"`)")
        static let defaultLocale = ConfigKey.string(
            "default_locale", form: "locale", default: "en", reload: .applies,
            "the template locale for a user without a `preferredLocale` we have (with `channel = \"email\"`)")
    }

    static let keys: [any ConfigKeyDescription] = [
        Keys.channel, Keys.url, Keys.allowInsecure, Keys.secret, Keys.templates, Keys.defaultLocale,
    ]

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        guard context.gigs != nil else {
            throw ConfigurationError(
                key: section.key("kind"), "esim-install-links needs a [gigs] section (api_url, project, token)")
        }
        switch try section.read(Keys.channel) {
        case "http":
            self.allowInsecure = try section.read(Keys.allowInsecure)
            let url = try section.url(Keys.url.required, allowInsecure: allowInsecure)
            let secret = try section.read(Keys.secret.required)
            self.channel = .http(url: url, secret: secret)
        case "email":
            guard context.smtp != nil else {
                throw ConfigurationError(
                    key: section.key(Keys.channel), "\"email\" needs an [smtp] section (host, from, …)")
            }
            let (templates, set) = try section.templateFolder(
                Keys.templates, baseDirectory: context.baseDirectory)
            self.templatesSet = set
            let locale = try section.read(Keys.defaultLocale)
            guard !locale.isEmpty, locale.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") }) else {
                throw ConfigurationError(key: section.key(Keys.defaultLocale), "must be a locale such as \"en\"")
            }
            self.channel = .email(templates: templates, defaultLocale: locale)
        case let other:
            throw ConfigurationError(
                key: section.key(Keys.channel), "must be \(Keys.channel.type.summary), got \"\(other)\"")
        }
    }

    var effectiveKeys: [EffectiveKey] {
        switch channel {
        case .http(let url, let secret):
            [
                Keys.channel.effective("http"), Keys.url.effective(url.absoluteString),
                Keys.allowInsecure.effective(allowInsecure), Keys.secret.effective(secret),
                Keys.templates.effective(nil), Keys.defaultLocale.effective(nil),
            ]
        case .email(let templates, let locale):
            [
                Keys.channel.effective("email"), Keys.url.effective(nil), Keys.allowInsecure.effective(nil),
                Keys.secret.effective(nil), Keys.templates.effective(templates), Keys.defaultLocale.effective(locale),
            ]
        }
    }

    func makeAction(_ action: ActionConfiguration, context: ActionBuildContext) throws(ConfigurationError)
        -> any DeliveryAction
    {
        let api = try context.requireAPI(for: action)
        switch channel {
        case .http(let url, let reference):
            let secret = try context.signingSecret(reference, key: "actions.\(action.name).secret")
            return InstallLinksAction(
                api: api, channel: .http(SignedPoster(url: url, secret: secret, client: context.client)))
        case .email(let folder, let defaultLocale):
            let templates = try MailTemplateFolder.load(
                folder, key: "actions.\(action.name).templates", required: [defaultLocale],
                builtIn: BuiltInTemplates.installLinks, folderRequired: templatesSet)
            return InstallLinksAction(
                api: api,
                channel: .email(
                    try context.requireMailer(for: action), templates: templates, defaultLocale: defaultLocale))
        }
    }
}
