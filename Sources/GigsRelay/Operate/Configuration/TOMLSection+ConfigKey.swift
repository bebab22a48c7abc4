/// Reading a declared key: the type and range come from the declaration, and so does the default when
/// the file leaves the key out.
extension TOMLSection {
    func value(_ key: ConfigKey<Int>) throws(ConfigurationError) -> Int? {
        try given(key) ?? key.defaultValue
    }

    /// The value the file gives, without the default (for keys that inherit, like an action's retry keys).
    func given(_ key: ConfigKey<Int>) throws(ConfigurationError) -> Int? {
        guard case .integer(let range) = key.type else { preconditionFailure("\(key.name) is not an integer key") }
        return try integer(key.name, in: range)
    }

    func value(_ key: ConfigKey<Double>) throws(ConfigurationError) -> Double? {
        guard case .number(let range) = key.type else { preconditionFailure("\(key.name) is not a number key") }
        return try number(key.name, in: range) ?? key.defaultValue
    }

    func value(_ key: ConfigKey<Bool>) throws(ConfigurationError) -> Bool? {
        try bool(key.name) ?? key.defaultValue
    }

    /// A string key; a choice is checked against its choices, and a required key must be given and not
    /// be empty.
    func value(_ key: ConfigKey<String>) throws(ConfigurationError) -> String? {
        guard let text = try string(key.name) else {
            if key.isRequired { throw ConfigurationError(key: self.key(key.name), "is required") }
            return key.defaultValue
        }
        if key.isRequired, text.isEmpty { throw ConfigurationError(key: self.key(key.name), "is required") }
        if case .choice(let choices) = key.type, !choices.contains(text) {
            throw ConfigurationError(key: self.key(key.name), "must be \(key.type.summary), got \"\(text)\"")
        }
        return text
    }

    /// A string key that must name a case of `Choice`.
    func value<Choice: RawRepresentable>(_ key: ConfigKey<String>, as: Choice.Type) throws(ConfigurationError)
        -> Choice? where Choice.RawValue == String
    {
        guard let text = try value(key) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            throw ConfigurationError(key: self.key(key.name), "must be \(key.type.summary), got \"\(text)\"")
        }
        return choice
    }

    /// An array key; a required one must list at least one string.
    func value(_ key: ConfigKey<[String]>) throws(ConfigurationError) -> [String]? {
        guard let strings = try strings(key.name) else {
            if key.isRequired { throw ConfigurationError(key: self.key(key.name), "is required") }
            return key.defaultValue
        }
        return strings
    }

    /// A list key read element by element: `parse` gets each string and the key's dotted name (for its
    /// errors); with `atLeastOne`, an empty list is refused, saying what it must hold.
    func read<Element>(
        _ key: ConfigKey<[String]>, atLeastOne what: String? = nil,
        each parse: (_ text: String, _ key: String) throws(ConfigurationError) -> Element
    ) throws(ConfigurationError) -> [Element] {
        let texts = try read(key)
        if let what, texts.isEmpty {
            throw ConfigurationError(key: self.key(key), "must list at least one \(what)")
        }
        return try texts.map { (text) throws(ConfigurationError) in try parse(text, self.key(key)) }
    }

    func value(_ key: ConfigKey<SecretReference>) throws(ConfigurationError) -> SecretReference? {
        guard let text = try string(key.name), !(key.isRequired && text.isEmpty) else {
            if key.isRequired { throw ConfigurationError(key: self.key(key.name), "is required") }
            return nil
        }
        return try SecretReference(parsing: text, key: self.key(key.name))
    }

    /// Secret references, each error naming its index (`webhook.secrets[1]`); with `atLeastOne`, an
    /// empty or missing list is refused with that message.
    func read(_ key: ConfigKey<[SecretReference]>, atLeastOne message: String) throws(ConfigurationError)
        -> [SecretReference]
    {
        let references = try value(key)
        guard !references.isEmpty else { throw ConfigurationError(key: self.key(key), message) }
        return references
    }

    /// Secret references, each error naming its index; empty when the key is absent.
    func value(_ key: ConfigKey<[SecretReference]>) throws(ConfigurationError) -> [SecretReference] {
        try (strings(key.name) ?? []).enumerated().map { (index, text) throws(ConfigurationError) in
            try SecretReference(parsing: text, key: self.key("\(key.name)[\(index)]"))
        }
    }
}

/// Reading a key that has a default or is required: the value is always there, or the error says the
/// key is required.
extension TOMLSection {
    func read(_ key: ConfigKey<Int>) throws(ConfigurationError) -> Int {
        try present(try value(key), key)
    }

    func read(_ key: ConfigKey<Bool>) throws(ConfigurationError) -> Bool {
        try present(try value(key), key)
    }

    func read(_ key: ConfigKey<String>) throws(ConfigurationError) -> String {
        try present(try value(key), key)
    }

    func read<Choice: RawRepresentable>(_ key: ConfigKey<String>, as type: Choice.Type) throws(ConfigurationError)
        -> Choice where Choice.RawValue == String
    {
        try present(try value(key, as: type), key)
    }

    func read(_ key: ConfigKey<[String]>) throws(ConfigurationError) -> [String] {
        try present(try value(key), key)
    }

    func read(_ key: ConfigKey<SecretReference>) throws(ConfigurationError) -> SecretReference {
        try present(try value(key), key)
    }

    private func present<Value>(_ value: Value?, _ key: some ConfigKeyDescription) throws(ConfigurationError)
        -> Value
    {
        guard let value else { throw ConfigurationError(key: self.key(key.name), "is required") }
        return value
    }
}
