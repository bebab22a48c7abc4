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

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        guard context.gigs != nil else {
            throw ConfigurationError(
                key: section.key("kind"), "esim-install-links needs a [gigs] section (api_url, project, token)")
        }
        switch try section.requiredString("channel") {
        case "http":
            let url = try section.url("url")
            self.allowInsecure = try section.bool("allow_insecure") ?? false
            let secret = try SecretReference(parsing: try section.requiredString("secret"), key: section.key("secret"))
            self.channel = .http(url: url, secret: secret)
        case "email":
            guard context.smtp != nil else {
                throw ConfigurationError(
                    key: section.key("channel"), "\"email\" needs an [smtp] section (host, from, …)")
            }
            let (templates, set) = try section.templateFolder(
                default: "templates/install-links", baseDirectory: context.baseDirectory)
            self.templatesSet = set
            let locale = try section.string("default_locale") ?? "en"
            guard !locale.isEmpty, locale.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") }) else {
                throw ConfigurationError(key: section.key("default_locale"), "must be a locale such as \"en\"")
            }
            self.channel = .email(templates: templates, defaultLocale: locale)
        case let other:
            throw ConfigurationError(key: section.key("channel"), "must be \"email\" or \"http\", got \"\(other)\"")
        }
    }

    var effectiveKeys: [(key: String, value: String?)] {
        switch channel {
        case .http(let url, let secret):
            [
                ("channel", TOMLText.quoted("http")), ("url", TOMLText.quoted(url.absoluteString)),
                ("allow_insecure", "\(allowInsecure)"), ("secret", TOMLText.quoted(secret.description)),
            ]
        case .email(let templates, let locale):
            [
                ("channel", TOMLText.quoted("email")), ("templates", TOMLText.quoted(templates)),
                ("default_locale", TOMLText.quoted(locale)),
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
