import Foundation

/// TOML literals for the effective configuration that `config check` prints.
enum TOMLText {
    /// A basic string, escaped.
    static func quoted(_ text: String) -> String {
        "\"" + text.tomlEscaped + "\""
    }

    /// An array of basic strings.
    static func list(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }
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
