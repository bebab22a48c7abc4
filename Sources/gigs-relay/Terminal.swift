import Foundation

/// Writes command output to standard output and diagnostics to standard error.
enum Terminal {
    /// One line of command output.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// One diagnostic line, prefixed with the program name.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data("gigs-relay: \(text)\n".utf8))
    }
}
