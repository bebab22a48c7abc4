/// Settings of a `kind = "exec"` action.
public struct ExecActionSettings: ActionSettings {
    static let kind = "exec"

    /// `command`: the program (an absolute path) and its arguments; no shell is involved.
    public var command: [String]

    enum Keys {
        static let command = ConfigKey.strings(
            "command", form: "strings: an absolute path, then arguments", required: true, reload: .applies,
            "the program to run (no shell), with the raw event on standard input")
    }

    static let keys: [any ConfigKeyDescription] = [Keys.command]

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        let command = try section.read(Keys.command)
        guard let program = command.first, program.hasPrefix("/") else {
            throw ConfigurationError(
                key: section.key(Keys.command),
                "must be [\"/absolute/path\", \"arg\", …] (no shell is used)"
            )
        }
        self.command = command
    }

    var effectiveKeys: [EffectiveKey] { [Keys.command.effective(command)] }

    func makeAction(_ action: ActionConfiguration, context: ActionBuildContext) throws(ConfigurationError)
        -> any DeliveryAction
    {
        ExecAction(settings: self, environment: context.environment)
    }
}
