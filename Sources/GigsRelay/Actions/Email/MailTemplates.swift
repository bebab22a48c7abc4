import Foundation
import Mustache

/// The subject, plain-text and (optional) HTML templates of one message.
///
/// Subject and text are rendered without HTML escaping; the HTML part escapes every `{{value}}`.
struct MailTemplateSet: Sendable {
    let subject: MustacheTemplate
    let text: MustacheTemplate
    let html: MustacheTemplate?

    /// Renders the three parts for `context` (dictionaries, arrays, strings, numbers, booleans).
    func render(_ context: Any) -> (subject: String, text: String, html: String?) {
        (subject.render(context), text.render(context), html?.render(context))
    }
}

/// A folder of Mustache mail templates: for each name, `NAME.subject.mustache`, `NAME.text.mustache` and
/// optionally `NAME.html.mustache`. Names are event types (`default` as the fallback) for
/// `kind = "email"`, and locales for the install-link email.
///
/// Everything is read and parsed at start-up, so a missing or broken template is a configuration error,
/// not a failed delivery.
struct MailTemplateFolder: Sendable {
    let path: String
    private let sets: [String: MailTemplateSet]

    /// The set for the first of `names` that exists.
    func set(forFirstOf names: [String]) -> MailTemplateSet? {
        names.lazy.compactMap { sets[$0] }.first
    }

    var names: [String] { sets.keys.sorted() }

    /// Reads the templates: the built-in ones, overridden file by file by those in `path`.
    ///
    /// - Parameters:
    ///   - key: the configuration key that named the folder, for errors.
    ///   - required: names that must exist (`default`, the default locale).
    ///   - builtIn: the shipped templates by file name (``BuiltInTemplates``).
    ///   - folderRequired: whether `path` must exist (the operator named it); else a missing folder means
    ///     the built-in templates alone.
    static func load(
        _ path: String,
        key: String,
        required: [String],
        builtIn: [String: String] = [:],
        folderRequired: Bool = true
    ) throws(ConfigurationError) -> MailTemplateFolder {
        var sources = Dictionary(
            uniqueKeysWithValues: builtIn.map { ($0.key, (origin: "the built-in \($0.key)", text: $0.value)) })
        if let files = try? FileManager.default.contentsOfDirectory(atPath: path) {
            for file in files where file.hasSuffix(".mustache") {
                guard let data = FileManager.default.contents(atPath: "\(path)/\(file)"),
                    let text = String(data: data, encoding: .utf8)
                else {
                    throw ConfigurationError(key: key, "cannot read \(path)/\(file) as UTF-8 text")
                }
                sources[file] = ("\(path)/\(file)", text)
            }
        } else if folderRequired || builtIn.isEmpty {
            throw ConfigurationError(key: key, "cannot read the template folder \(path)")
        }
        var parts: [String: [String: MustacheTemplate]] = [:]
        for file in sources.keys.sorted() {
            guard let (origin, text) = sources[file] else { continue }
            let stem = file.dropLast(".mustache".count)
            guard let dot = stem.lastIndex(of: "."),
                ["subject", "text", "html"].contains(stem[stem.index(after: dot)...])
            else {
                throw ConfigurationError(
                    key: key, "\(origin) is not NAME.subject.mustache, NAME.text.mustache or NAME.html.mustache")
            }
            let part = String(stem[stem.index(after: dot)...])
            do {
                // Subject and text are not HTML: no escaping there.
                let source = part == "html" ? text : "{{% CONTENT_TYPE: TEXT }}" + text
                parts[String(stem[..<dot]), default: [:]][part] = try MustacheTemplate(string: source)
            } catch {
                throw ConfigurationError(key: key, "\(origin) is not a valid Mustache template: \(error)")
            }
        }
        var sets: [String: MailTemplateSet] = [:]
        for (name, templates) in parts {
            guard let subject = templates["subject"], let text = templates["text"] else {
                throw ConfigurationError(
                    key: key, "\(path)/\(name): both \(name).subject.mustache and \(name).text.mustache are needed")
            }
            sets[name] = MailTemplateSet(subject: subject, text: text, html: templates["html"])
        }
        for name in required where sets[name] == nil {
            throw ConfigurationError(key: key, "\(path) has no \(name).subject.mustache and \(name).text.mustache")
        }
        return MailTemplateFolder(path: path, sets: sets)
    }
}

/// A JSON document as template context: objects become `[String: Any]`, arrays `[Any]`, and JSON null is
/// left out, so `{{#field}}` sections and `{{^field}}` inverted sections behave as a template author
/// expects.
enum TemplateValue: Decodable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([TemplateValue])
    case object([String: TemplateValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([TemplateValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: TemplateValue].self))
        }
    }

    /// Parses a JSON document; nil when it is not JSON.
    static func parse(_ bytes: [UInt8]) -> TemplateValue? {
        try? JSONDecoder().decode(TemplateValue.self, from: Data(bytes))
    }

    /// The value as swift-mustache renders it; nil for JSON null.
    var context: Any? {
        switch self {
        case .null: nil
        case .bool(let value): value
        case .integer(let value): value
        case .number(let value): value
        case .string(let value): value
        case .array(let values): values.compactMap(\.context)
        case .object(let members): members.compactMapValues(\.context)
        }
    }
}
