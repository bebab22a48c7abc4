extension RelayConfiguration {
    /// Every section the file may hold, in file order, with its keys' effective values; routes and
    /// actions once each.
    var effectiveSections: [(name: String, keys: [EffectiveKey])] {
        var sections: [(name: String, keys: [EffectiveKey])] = [
            (Server.section.name, server.effectiveKeys), (Store.section.name, store.effectiveKeys),
            (Webhook.section.name, webhook.effectiveKeys), (Log.section.name, log.effectiveKeys),
            (Admin.section.name, admin.effectiveKeys), (Ready.section.name, ready.effectiveKeys),
            (Privacy.section.name, privacy.effectiveKeys),
            (DispatchConfiguration.section.name, dispatch.effectiveKeys),
        ]
        if let gigs { sections.append((GigsAPIConfiguration.section.name, gigs.effectiveKeys)) }
        if let smtp { sections.append((SMTPConfiguration.section.name, smtp.effectiveKeys)) }
        if let reconcile { sections.append((ReconcileConfiguration.section.name, reconcile.effectiveKeys)) }
        if let tracing { sections.append((Tracing.section.name, tracing.effectiveKeys)) }
        sections += routes.map { (RouteConfiguration.section.name, $0.effectiveKeys) }
        sections += actions.keys.sorted().compactMap { name in
            actions[name].map { ("actions.\(name)", $0.effectiveKeys) }
        }
        return sections
    }

    /// The configuration in effect, every key with its default, as TOML (`gigs-relay config check`).
    ///
    /// Secrets appear only as their references (`env:NAME`, `file:PATH`, `credential:NAME`), never as
    /// values: the file holds no secret values, and this output does not read any.
    public var effectiveTOML: String {
        effectiveSections.map { section in
            (["[\(section.name)]"]
                + section.keys.map { entry in
                    entry.value.map { "\(entry.key.name) = \($0)" } ?? "# \(entry.key.name) is not set"
                } + [""]).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The keys a reload cannot apply (declared ``ReloadEffect/needsRestart``) whose values differ from
    /// `running`'s, as `section.key`.
    func restartOnlyChanges(from running: RelayConfiguration) -> [String] {
        let before = Dictionary(
            running.effectiveSections.flatMap { section in
                section.keys.map { ("\(section.name).\($0.key.name)", $0.value) }
            },
            uniquingKeysWith: { first, _ in first })
        return effectiveSections.flatMap { section in
            section.keys.filter { $0.key.reload == .needsRestart }.compactMap { entry in
                let name = "\(section.name).\(entry.key.name)"
                return before[name] == entry.value ? nil : name
            }
        }
    }
}
