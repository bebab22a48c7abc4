import AsyncHTTPClient

/// Builds the runnable actions from their configuration, reading their secrets.
enum ActionFactory {
    /// One ``DeliveryAction`` per configured action name.
    ///
    /// - Parameter environment: the process environment, for `env:` and `credential:` references.
    static func makeActions(
        _ configuration: RelayConfiguration,
        environment: [String: String],
        client: HTTPClient
    ) throws(ConfigurationError) -> [String: any DeliveryAction] {
        var actions: [String: any DeliveryAction] = [:]
        for (name, action) in configuration.actions {
            switch action.kind {
            case .http(let settings):
                let key = "actions.\(name).secret"
                let value = try settings.secret.resolve(key: key, environment: environment)
                guard let secret = try? WebhookSecret(encoded: value) else {
                    throw ConfigurationError(
                        key: key,
                        "\(settings.secret) is not a signing secret: expected \"whsec_\" followed by base64"
                    )
                }
                actions[name] = HTTPAction(name: name, settings: settings, secret: secret, client: client)
            case .exec(let settings):
                actions[name] = ExecAction(settings: settings, environment: environment)
            }
        }
        return actions
    }
}
