/// Settings of a `kind = "exec"` action.
public struct ExecActionSettings: ActionSettings {
    static let kind = "exec"

    /// `command`: the program (an absolute path) and its arguments; no shell is involved.
    public var command: [String]

    init(section: TOMLSection, context: ActionSettingsContext) throws(ConfigurationError) {
        let command = try section.strings("command") ?? []
        guard let program = command.first, program.hasPrefix("/") else {
            throw ConfigurationError(
                key: section.key("command"),
                "must be [\"/absolute/path\", \"arg\", …] (no shell is used)"
            )
        }
        self.command = command
    }

    var effectiveKeys: [(key: String, value: String?)] { [("command", TOMLText.list(command))] }

    func makeAction(_ action: ActionConfiguration, context: ActionBuildContext) throws(ConfigurationError)
        -> any DeliveryAction
    {
        ExecAction(settings: self, environment: context.environment)
    }
}
