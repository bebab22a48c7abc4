/// Settings of a `kind = "email"` action.
public struct EmailActionSettings: ActionSettings {
    static let kind = "email"

    /// `to`: the fixed recipients, e.g. `["Ops <ops@example.com>"]`.
    public var to: [MailAddress]
    /// `templates`: the folder of `TYPE.subject/.text/.html.mustache` files (`default.*` for any other
    /// type) that override the built-in ones; relative to the configuration file's folder. Default
    /// `templates/email`, which may be missing.
    public var templates: String
    /// Whether the file names `templates` (then the folder must exist).
    public var templatesSet: Bool

    enum Keys {
        static let to = ConfigKey.strings(
            "to", form: "addresses", required: true, reload: .applies, "the fixed recipients")
        static let templates = ConfigKey.string(
            "templates", form: "folder", default: "templates/email", reload: .applies,
            "`TYPE.{subject,text,html}.mustache` files that override the built-in ones, file by file; relative to the configuration file's folder"
        )
    }

    static let keys: [any ConfigKeyDescription] = [Keys.to, Keys.templates]

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        guard context.smtp != nil else {
            throw ConfigurationError(key: section.key("kind"), "email needs an [smtp] section (host, from, …)")
        }
        self.to = try section.read(Keys.to, atLeastOne: "address") { (text, key) throws(ConfigurationError) in
            guard let address = MailAddress(parsing: text) else {
                throw ConfigurationError(key: key, "\"\(text)\" is not an email address")
            }
            return address
        }
        (self.templates, self.templatesSet) = try section.templateFolder(
            Keys.templates, baseDirectory: context.baseDirectory)
    }

    var effectiveKeys: [EffectiveKey] {
        [Keys.to.effective(to.map(\.description)), Keys.templates.effective(templates)]
    }

    func makeAction(_ action: ActionConfiguration, context: ActionBuildContext) throws(ConfigurationError)
        -> any DeliveryAction
    {
        let templates = try MailTemplateFolder.load(
            templates, key: "actions.\(action.name).templates", required: ["default"],
            builtIn: BuiltInTemplates.email, folderRequired: templatesSet)
        return EmailAction(mailer: try context.requireMailer(for: action), to: to, templates: templates)
    }
}
