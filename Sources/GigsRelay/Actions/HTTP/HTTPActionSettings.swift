import Foundation

/// Settings of a `kind = "http"` action.
public struct HTTPActionSettings: ActionSettings {
    static let kind = "http"

    /// `url`: where to POST; https, or plain http to a loopback host unless `allow_insecure`.
    public var url: URL
    /// `secret`: a reference to the `whsec_…` secret the requests are signed with.
    public var secret: SecretReference
    /// `allow_insecure`: plain http to a host that is not loopback is allowed.
    public var allowInsecure: Bool
    /// `headers`: extra request headers; a value may be a secret reference.
    public var headers: [String: HeaderValue]

    /// Headers whose value is a credential: only a secret reference is accepted for them.
    static let credentialHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        self.url = try section.url("url")
        self.allowInsecure = try section.bool("allow_insecure") ?? false
        self.secret = try SecretReference(parsing: try section.requiredString("secret"), key: section.key("secret"))
        var headers: [String: HeaderValue] = [:]
        for (name, text) in try section.stringTable("headers") ?? [:] {
            let key = section.key("headers.\(name)")
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
    var effectiveKeys: [(key: String, value: String?)] {
        [
            ("url", TOMLText.quoted(url.absoluteString)), ("allow_insecure", "\(allowInsecure)"),
            ("secret", TOMLText.quoted(secret.description)),
        ]
            + headers.keys.sorted().map { header in
                ("headers.\(TOMLText.quoted(header))", TOMLText.quoted(headers[header]?.description ?? ""))
            }
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
