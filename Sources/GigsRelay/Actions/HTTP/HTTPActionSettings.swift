import Foundation

/// Settings of a `kind = "http"` action.
public struct HTTPActionSettings: ActionSettings {
    static let kind = "http"

    public var url: URL
    public var secret: SecretReference
    public var allowInsecure: Bool
    /// Extra request headers; a value may be a secret reference.
    public var headers: [String: HeaderValue]

    enum Keys {
        static let url = ConfigKey.string(
            "url", form: "URL", required: true, reload: .applies,
            "where to POST the event; https, or plain http to a loopback host unless `allow_insecure`")
        static let allowInsecure = ConfigKey.bool(
            "allow_insecure", default: false, reload: .applies, "plain http to a host that is not loopback is allowed")
        static let secret = ConfigKey.secret(
            "secret", required: true, reload: .applies, "the `whsec_…` secret the requests are signed with")
        static let headers = ConfigKey.table(
            "headers", form: "inline table of strings", reload: .applies,
            "extra request headers; a value written `env:`, `file:` or `credential:` is a secret reference, and `Authorization`, `Proxy-Authorization` and `Cookie` take nothing else"
        )
    }

    static let keys: [any ConfigKeyDescription] = [Keys.url, Keys.allowInsecure, Keys.secret, Keys.headers]

    /// Headers whose value is a credential: only a secret reference is accepted for them.
    static let credentialHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        self.allowInsecure = try section.read(Keys.allowInsecure)
        self.url = try section.url(Keys.url, allowInsecure: allowInsecure)
        self.secret = try section.read(Keys.secret)
        var headers: [String: HeaderValue] = [:]
        for (name, text) in try section.stringTable(Keys.headers.name) ?? [:] {
            let key = section.key("\(Keys.headers.name).\(name)")
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw ConfigurationError(key: key, "is not a valid header name")
            }
            let value = try HeaderValue(parsing: text, key: key)
            if case .literal = value, Self.credentialHeaders.contains(name.lowercased()) {
                // Reuse the reference parser's message: a credential never sits in the file.
                _ = try SecretReference(parsing: text, key: key)
            }
            headers[name] = value
        }
        self.headers = headers
    }
}

extension HTTPActionSettings {
    var effectiveKeys: [EffectiveKey] {
        let headerPairs = headers.keys.sorted().map { name in
            "\(TOMLText.quoted(name)) = \(TOMLText.quoted(headers[name]?.description ?? ""))"
        }
        return [
            Keys.url.effective(url.absoluteString), Keys.allowInsecure.effective(allowInsecure),
            Keys.secret.effective(secret),
            Keys.headers.effective(headers.isEmpty ? nil : "{ " + headerPairs.joined(separator: ", ") + " }"),
        ]
    }

    func makeAction(_ action: ActionConfiguration, context: ActionBuildContext) throws(ConfigurationError)
        -> any DeliveryAction
    {
        let secret = try context.signingSecret(secret, key: "actions.\(action.name).secret")
        var resolved: [String: String] = [:]
        for (field, value) in headers {
            resolved[field] = try value.resolve(
                key: "actions.\(action.name).headers.\(field)", environment: context.environment)
        }
        return HTTPAction(
            settings: self, secret: secret, headers: resolved, timeout: .seconds(action.timeoutSeconds),
            client: context.client)
    }
}
