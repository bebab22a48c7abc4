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
