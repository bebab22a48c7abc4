import Foundation

/// A JSON document, as the operator views carry a stored payload: decoded once, masked where
/// `admin.redact` says, and encoded again.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// What a redacted value becomes.
    public static let redacted = JSONValue.string("[redacted]")

    /// The document in `bytes`, or nil when they are not JSON.
    public init?(parsing bytes: [UInt8]) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return nil }
        self = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The document indented, keys sorted, slashes unescaped: for people (the console, `events show`).
    public var prettyPrinted: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The document with the value at each pointer replaced by ``redacted``; a pointer that leads
    /// nowhere changes nothing.
    public func masking(_ pointers: [JSONPointer]) -> JSONValue {
        pointers.reduce(self) { $0.masking(at: $1.tokens[...]) }
    }

    private func masking(at tokens: ArraySlice<String>) -> JSONValue {
        guard let token = tokens.first else { return Self.redacted }
        switch self {
        case .object(var members):
            guard let inner = members[token] else { return self }
            members[token] = inner.masking(at: tokens.dropFirst())
            return .object(members)
        case .array(var elements):
            guard let index = Int(token), elements.indices.contains(index) else { return self }
            elements[index] = elements[index].masking(at: tokens.dropFirst())
            return .array(elements)
        default:
            return self
        }
    }
}

extension JSONValue {
    /// The member `key` of an object; nil for a missing member and for anything but an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The text of a string; nil for anything else (null included).
    public var string: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }
}
