import AsyncHTTPClient

/// The action kinds gigs-relay knows, and the building of every configured action.
enum ActionKinds {
    /// Every kind, in the order error messages list them. A new kind is one line here.
    static let all: [any ActionSettings.Type] = [
        HTTPActionSettings.self,
        ExecActionSettings.self,
        EmailActionSettings.self,
        InstallLinksSettings.self,
    ]

    /// The kind named `name`, or nil.
    static func named(_ name: String) -> (any ActionSettings.Type)? {
        all.first { $0.kind == name }
    }

    /// One ``DeliveryAction`` per configured action name, sharing `api` (the snapshot's Gigs API client)
    /// and a mail sender built once.
    ///
    /// - Parameter environment: the process environment, for `env:` and `credential:` references.
    static func makeActions(
        _ configuration: RelayConfiguration,
        environment: [String: String],
        client: HTTPClient,
        api: GigsAPIClient?
    ) throws(ConfigurationError) -> [String: any DeliveryAction] {
        var mailer: Mailer?
        if let smtp = configuration.smtp {
            let password = try smtp.password.map { (reference) throws(ConfigurationError) in
                Credential(try reference.resolve(key: "smtp.password", environment: environment))
            }
            mailer = Mailer(client: try SMTPClient(settings: smtp, password: password), from: smtp.from)
        }
        let context = ActionBuildContext(environment: environment, client: client, api: api, mailer: mailer)
        var actions: [String: any DeliveryAction] = [:]
        for (name, action) in configuration.actions {
            actions[name] = try action.settings.makeAction(action, context: context)
        }
        return actions
    }
}
