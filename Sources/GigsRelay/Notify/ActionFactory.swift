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
        var mailer: Mailer?
        if let smtp = configuration.smtp {
            let password = try smtp.password.map { (reference) throws(ConfigurationError) in
                Credential(try reference.resolve(key: "smtp.password", environment: environment))
            }
            mailer = Mailer(client: try SMTPClient(settings: smtp, password: password), from: smtp.from)
        }
        for (name, action) in configuration.actions {
            switch action.kind {
            case .http(let settings):
                let secret = try signingSecret(settings.secret, key: "actions.\(name).secret", environment: environment)
                var headers: [String: String] = [:]
                for (field, value) in settings.headers {
                    headers[field] = try value.resolve(
                        key: "actions.\(name).headers.\(field)", environment: environment)
                }
                actions[name] = HTTPAction(
                    settings: settings, secret: secret, headers: headers, timeout: .seconds(action.timeoutSeconds),
                    client: client)
            case .exec(let settings):
                actions[name] = ExecAction(settings: settings, environment: environment)
            case .email(let settings):
                guard let mailer else { throw ConfigurationError(key: "smtp", "is required by actions.\(name)") }
                let templates = try MailTemplateFolder.load(
                    settings.templates, key: "actions.\(name).templates", required: ["default"],
                    builtIn: BuiltInTemplates.email, folderRequired: settings.templatesSet)
                actions[name] = EmailAction(mailer: mailer, to: settings.to, templates: templates)
            case .esimInstallLinks(let settings):
                guard let api else { throw ConfigurationError(key: "gigs", "is required by actions.\(name)") }
                switch settings.channel {
                case .http(let url, let reference):
                    let secret = try signingSecret(reference, key: "actions.\(name).secret", environment: environment)
                    actions[name] = InstallLinksAction(
                        api: api,
                        channel: .http(SignedPoster(url: url, secret: secret, client: client))
                    )
                case .email(let folder, let defaultLocale):
                    guard let mailer else { throw ConfigurationError(key: "smtp", "is required by actions.\(name)") }
                    let templates = try MailTemplateFolder.load(
                        folder, key: "actions.\(name).templates", required: [defaultLocale],
                        builtIn: BuiltInTemplates.installLinks, folderRequired: settings.templatesSet)
                    actions[name] = InstallLinksAction(
                        api: api,
                        channel: .email(mailer, templates: templates, defaultLocale: defaultLocale)
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
