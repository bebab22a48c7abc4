import ArgumentParser
import Foundation

/// Writes command output to standard output and diagnostics to standard error.
enum Terminal {
    /// An ISO 8601 time given to `option`, or a usage error naming it.
    static func date(_ text: String, option: String) throws -> Date {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw ValidationError("\(option) must be an ISO 8601 time such as 2026-11-23T10:00:00Z, got \(text)")
    }

    /// One line of command output.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// One diagnostic line, prefixed with the program name.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data("gigs-relay: \(text)\n".utf8))
    }

    /// `text` safe for a terminal: control characters (escape sequences, carriage returns, bidi overrides)
    /// become visible `\u{…}` escapes. For text that came from a remote server or a command, such as
    /// attempt errors, which could otherwise rewrite what an operator sees.
    static func printable(_ text: String) -> String {
        var output = ""
        output.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                output += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
