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
        var api: GigsAPIClient?
        if let gigs = configuration.gigs {
            let token = try gigs.token.resolve(key: "gigs.token", environment: environment)
            api = GigsAPIClient(configuration: gigs, token: Credential(token), client: client)
        }
        for (name, action) in configuration.actions {
            switch action.kind {
            case .http(let settings):
                let secret = try signingSecret(settings.secret, key: "actions.\(name).secret", environment: environment)
                actions[name] = HTTPAction(name: name, settings: settings, secret: secret, client: client)
            case .exec(let settings):
                actions[name] = ExecAction(settings: settings, environment: environment)
            case .esimInstallLinks(let settings):
                guard let api else { throw ConfigurationError(key: "gigs", "is required by actions.\(name)") }
                switch settings.channel {
                case .http(let url, let reference):
                    let secret = try signingSecret(reference, key: "actions.\(name).secret", environment: environment)
                    actions[name] = InstallLinksAction(
                        api: api,
                        poster: SignedPoster(url: url, secret: secret, client: client)
                    )
                }
            }
        }
        return actions
    }

    private static func signingSecret(
        _ reference: SecretReference,
        key: String,
        environment: [String: String]
    ) throws(ConfigurationError) -> WebhookSecret {
        let value = try reference.resolve(key: key, environment: environment)
        guard let secret = try? WebhookSecret(encoded: value) else {
            throw ConfigurationError(
                key: key, "\(reference) is not a signing secret: expected \"whsec_\" followed by base64")
        }
        return secret
    }
}
