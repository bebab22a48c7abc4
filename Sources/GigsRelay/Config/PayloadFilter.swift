import Foundation

/// A JSON pointer (RFC 6901), such as `/data/sim/type`: the path to one value of an event's payload.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The reference tokens, unescaped (`~1` is `/`, `~0` is `~`).
    public let tokens: [String]
    public let description: String

    /// Parses `text`; it must be empty (the whole document) or start with `/`.
    public init(parsing text: String, key: String) throws(ConfigurationError) {
        guard text.hasPrefix("/") else {
            throw ConfigurationError(key: key, "\"\(text)\" is not a JSON pointer: it must start with \"/\"")
        }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var escaped = false
            for character in raw {
                if escaped {
                    switch character {
                    case "0": token.append("~")
                    case "1": token.append("/")
                    default:
                        throw ConfigurationError(
                            key: key, "\"\(text)\" is not a JSON pointer: \"~\" must be followed by 0 or 1")
                    }
                    escaped = false
                } else if character == "~" {
                    escaped = true
                } else {
                    token.append(character)
                }
            }
            if escaped {
                throw ConfigurationError(
                    key: key, "\"\(text)\" is not a JSON pointer: \"~\" must be followed by 0 or 1")
            }
            tokens.append(token)
        }
        self.tokens = tokens
        self.description = text
    }
}

/// A scalar a filter compares with: what TOML and JSON both have.
public enum FilterValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    /// Integers and floating-point numbers alike: JSON does not tell them apart.
    case number(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let string): "\"\(string.tomlEscaped)\""
        case .number(let number):
            number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let bool): String(bool)
        }
    }
}

/// One condition of a route's `where` table: the value at `pointer` equals one of `values`. A missing
/// field, `null`, an object or an array matches nothing.
public struct PayloadFilter: Sendable, Hashable, CustomStringConvertible {
    public let pointer: JSONPointer
    public let values: [FilterValue]

    public init(pointer: JSONPointer, values: [FilterValue]) {
        self.pointer = pointer
        self.values = values
    }

    /// Whether the payload's value (nil when missing or not a scalar) satisfies this condition.
    public func matches(_ value: FilterValue?) -> Bool {
        guard let value else { return false }
        return values.contains(value)
    }

    /// As written in TOML: `"/data/sim/type" = "eSIM"` or `"/data/plan/id" = ["pln_a", "pln_b"]`.
    public var description: String {
        let written =
            values.count == 1 ? values[0].description : "[\(values.map(\.description).joined(separator: ", "))]"
        return "\"\(pointer.description.tomlEscaped)\" = \(written)"
    }
}

extension String {
    /// Escaped for a TOML basic string.
    var tomlEscaped: String {
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    escaped += String(format: "\\u%04X", scalar.value)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return escaped
    }
}

/// The scalars at a set of JSON pointers in one JSON document, read in one pass that decodes nothing
/// else: the parser sees the whole document once, and only the objects and arrays on the way to a
/// pointer are walked.
struct PayloadProbe: Sendable {
    /// The pointers' tokens as a tree; a node that ends a pointer names it.
    private struct Node: Sendable {
        let children: [String: Node]
        let pointer: JSONPointer?

        init(_ pointers: [JSONPointer], depth: Int = 0) {
            pointer = pointers.first { $0.tokens.count == depth }
            children = Dictionary(grouping: pointers.filter { $0.tokens.count > depth }, by: { $0.tokens[depth] })
                .mapValues { Node($0, depth: depth + 1) }
        }
    }

    private let root: Node

    init(_ pointers: some Sequence<JSONPointer>) {
        root = Node(Array(pointers))
    }

    /// The scalar at each pointer that leads to one; malformed JSON gives none.
    func values(in body: [UInt8]) -> [JSONPointer: FilterValue] {
        let decoder = JSONDecoder()
        decoder.userInfo[Walker.rootKey] = root
        return (try? decoder.decode(Walker.self, from: Data(body)))?.found ?? [:]
    }

    /// An object's key; never an integer, so that an object key "007" is not taken for an index.
    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes nothing: how an array element off the path is passed over.
    private struct Skip: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// Walks the document along the tree: at each value, the node its coding path leads to says which
    /// keys or indices to enter and whether this value is wanted.
    private struct Walker: Decodable {
        static let rootKey = CodingUserInfoKey(rawValue: "gigs-relay.payload-probe")!
        var found: [JSONPointer: FilterValue] = [:]

        init(from decoder: any Decoder) throws {
            guard var node = decoder.userInfo[Self.rootKey] as? Node else { return }
            for key in decoder.codingPath {
                // Array positions are the only integer keys (see AnyKey).
                guard let child = node.children[key.intValue.map(String.init) ?? key.stringValue] else { return }
                node = child
            }
            if let pointer = node.pointer, let value = Self.scalar(decoder) {
                found[pointer] = value
            }
            guard !node.children.isEmpty else { return }
            if let object = try? decoder.container(keyedBy: AnyKey.self) {
                for token in node.children.keys {
                    let key = AnyKey(stringValue: token)
                    guard object.contains(key), let inner = try? object.decode(Walker.self, forKey: key) else {
                        continue
                    }
                    found.merge(inner.found) { first, _ in first }
                }
            } else if var array = try? decoder.unkeyedContainer() {
                // RFC 6901 indices: "0", or digits without a leading zero.
                let wanted = Set(
                    node.children.keys.compactMap { token in
                        token == "0" || (token.first != "0" && token.allSatisfy(\.isASCIIDigit)) ? Int(token) : nil
                    })
                guard let last = wanted.max() else { return }
                var index = 0
                while !array.isAtEnd && index <= last {
                    if wanted.contains(index), let inner = try? array.decode(Walker.self) {
                        found.merge(inner.found) { first, _ in first }
                    } else if (try? array.decode(Skip.self)) == nil {
                        return
                    }
                    index += 1
                }
            }
        }

        private static func scalar(_ decoder: any Decoder) -> FilterValue? {
            guard let single = try? decoder.singleValueContainer(), !single.decodeNil() else { return nil }
            if let bool = try? single.decode(Bool.self) { return .bool(bool) }
            if let number = try? single.decode(Double.self) { return .number(number) }
            if let string = try? single.decode(String.self) { return .string(string) }
            return nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
