import Foundation

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
