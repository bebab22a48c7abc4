/// What a reload (SIGHUP) does with a changed key.
enum ReloadEffect: Sendable {
    /// The next request or attempt uses the new value.
    case applies
    /// Only a restart uses the new value; a reload names the key in a warning.
    case needsRestart
}

/// What a key holds, as the reference describes it and the reader checks it.
enum ConfigValueType: Sendable {
    case integer(ClosedRange<Int>)
    case number(ClosedRange<Double>)
    case bool
    /// A string of the given form (said in the reference).
    case string(form: String)
    /// One of these strings.
    case choice([String])
    /// An array of strings of the given form.
    case strings(form: String)
    /// A secret reference: `env:NAME`, `file:PATH` or `credential:NAME`.
    case secret
    /// An array of secret references.
    case secrets
    /// An inline table of the given form.
    case table(form: String)

    /// How the reference names it.
    var summary: String {
        switch self {
        case .integer(let range): "integer, \(range.lowerBound)–\(range.upperBound)"
        case .number(let range):
            "number, \(FilterValue.number(range.lowerBound))–\(FilterValue.number(range.upperBound))"
        case .bool: "boolean"
        case .string(let form): form
        case .choice(let choices): choices.map { "`\"\($0)\"`" }.joined(separator: " or ")
        case .strings(let form): "array of \(form)"
        case .secret: "secret reference"
        case .secrets: "array of secret references"
        case .table(let form): form
        }
    }
}

/// Any configuration key, as the reference, `config check` and the reload classification see it.
protocol ConfigKeyDescription: Sendable {
    var name: String { get }
    var type: ConfigValueType { get }
    /// The default as TOML text; nil when the key is unset by default or required.
    var defaultText: String? { get }
    /// What the reference says instead of a literal default ("`dispatch.max_attempts`").
    var defaultNote: String? { get }
    var isRequired: Bool { get }
    var reload: ReloadEffect { get }
    /// One line for the reference.
    var doc: String { get }
}

/// One configuration key, declared once: its name, type and range, default, whether a reload applies
/// it, and one line of documentation.
///
/// The section's parser reads the key through ``TOMLSection/value(_:)-(ConfigKey<Int>)`` (which checks
/// the type and range and supplies the default), `config check` prints it through ``effective(_:)``,
/// the reload compares those printed values for keys that need a restart, and `docs/configuration.md` is
/// generated from the declarations (``ConfigurationReference``).
struct ConfigKey<Value: Sendable>: ConfigKeyDescription {
    let name: String
    let type: ConfigValueType
    let defaultValue: Value?
    let defaultNote: String?
    let isRequired: Bool
    let reload: ReloadEffect
    let doc: String
    /// The value as TOML text.
    let toml: @Sendable (Value) -> String

    var defaultText: String? { defaultValue.map(toml) }

    /// The default of a key declared with one (asking a key without one is a programming error).
    var declaredDefault: Value {
        guard let defaultValue else { preconditionFailure("\(name) declares no default") }
        return defaultValue
    }

    /// The same key where a section inherits its value from `section`'s key of that name.
    func inherited(from section: String) -> Self {
        Self(
            name: name, type: type, defaultValue: nil, defaultNote: "`\(section).\(name)`", isRequired: false,
            reload: reload, doc: doc, toml: toml)
    }

    /// The same key where the section's other keys make it required (an install-links `url` with
    /// `channel = "http"`).
    var required: Self {
        Self(
            name: name, type: type, defaultValue: defaultValue, defaultNote: defaultNote, isRequired: true,
            reload: reload, doc: doc, toml: toml)
    }

    /// The key with its effective value for `config check` (nil: not set).
    func effective(_ value: Value?) -> EffectiveKey {
        EffectiveKey(key: self, value: value.map(toml))
    }
}

/// A key and its effective value as TOML text (nil: not set), as `config check` prints it.
struct EffectiveKey: Sendable {
    let key: any ConfigKeyDescription
    let value: String?
}

extension ConfigKey where Value == Int {
    static func integer(
        _ name: String, in range: ClosedRange<Int>, default value: Int? = nil, note: String? = nil,
        reload: ReloadEffect, _ doc: String
    ) -> Self {
        Self(
            name: name, type: .integer(range), defaultValue: value, defaultNote: note, isRequired: false,
            reload: reload, doc: doc, toml: { String($0) })
    }
}

extension ConfigKey where Value == Double {
    static func number(
        _ name: String, in range: ClosedRange<Double>, default value: Double? = nil, note: String? = nil,
        reload: ReloadEffect, _ doc: String
    ) -> Self {
        Self(
            name: name, type: .number(range), defaultValue: value, defaultNote: note, isRequired: false,
            reload: reload, doc: doc, toml: { FilterValue.number($0).description })
    }
}

extension ConfigKey where Value == Bool {
    static func bool(_ name: String, default value: Bool, reload: ReloadEffect, _ doc: String) -> Self {
        Self(
            name: name, type: .bool, defaultValue: value, defaultNote: nil, isRequired: false, reload: reload,
            doc: doc, toml: { String($0) })
    }
}

extension ConfigKey where Value == String {
    static func string(
        _ name: String, form: String, default value: String? = nil, note: String? = nil, required: Bool = false,
        reload: ReloadEffect, _ doc: String
    ) -> Self {
        Self(
            name: name, type: .string(form: form), defaultValue: value, defaultNote: note, isRequired: required,
            reload: reload, doc: doc, toml: TOMLText.quoted)
    }

    static func choice(
        _ name: String, _ choices: [String], default value: String? = nil, required: Bool = false,
        reload: ReloadEffect, _ doc: String
    ) -> Self {
        Self(
            name: name, type: .choice(choices), defaultValue: value, defaultNote: nil, isRequired: required,
            reload: reload, doc: doc, toml: TOMLText.quoted)
    }

    /// A key whose value is an inline table, read by the section's own code (`where`, `headers`).
    static func table(_ name: String, form: String, reload: ReloadEffect, _ doc: String) -> Self {
        Self(
            name: name, type: .table(form: form), defaultValue: nil, defaultNote: nil, isRequired: false,
            reload: reload, doc: doc, toml: { $0 })
    }
}

extension ConfigKey where Value == [String] {
    static func strings(
        _ name: String, form: String, default value: [String]? = nil, note: String? = nil, required: Bool = false,
        reload: ReloadEffect, _ doc: String
    ) -> Self {
        Self(
            name: name, type: .strings(form: form), defaultValue: value, defaultNote: note, isRequired: required,
            reload: reload, doc: doc, toml: TOMLText.list)
    }
}

extension ConfigKey where Value == SecretReference {
    static func secret(_ name: String, required: Bool = false, reload: ReloadEffect, _ doc: String) -> Self {
        Self(
            name: name, type: .secret, defaultValue: nil, defaultNote: nil, isRequired: required, reload: reload,
            doc: doc, toml: { TOMLText.quoted($0.description) })
    }
}

extension ConfigKey where Value == [SecretReference] {
    static func secrets(_ name: String, required: Bool = true, reload: ReloadEffect, _ doc: String) -> Self {
        Self(
            name: name, type: .secrets, defaultValue: nil, defaultNote: nil, isRequired: required, reload: reload,
            doc: doc, toml: { TOMLText.list($0.map(\.description)) })
    }
}
