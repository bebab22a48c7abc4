/// A table of the configuration file and the keys declared for it, for `docs/configuration.md`.
struct ConfigSection: Sendable {
    /// As the file writes it: `server`, `actions.NAME`, `[routes]`.
    let name: String
    /// One or two sentences for the reference.
    let summary: String
    let keys: [any ConfigKeyDescription]
}

extension TOMLSection {
    /// The dotted name of a declared key in this section, for error messages.
    func key(_ key: some ConfigKeyDescription) -> String { self.key(key.name) }
}
