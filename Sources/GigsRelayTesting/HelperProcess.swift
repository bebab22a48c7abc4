import Foundation

/// The repository's files the tests use (scripts, shipped templates).
public enum Repository {
    /// The repository root, found from this source file.
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The absolute path of `relative` in the repository.
    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// A test helper server written in Python (`Tests/Support/*.py`), run as a child process that prints
/// `LISTENING <port>` once ready.
struct HelperProcess: Sendable {
    let process: Process
    let port: Int

    /// Starts `Tests/Support/<script>` with `arguments` and waits for its port.
    init(script: String, arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", Repository.path("Tests/Support/\(script)")]
            + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        // Never hold the test runner's own pipes open: it waits for them to close.
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = ""
        while !line.contains("\n") {
            let data = pipe.fileHandleForReading.availableData
            guard !data.isEmpty else { break }
            line += String(decoding: data, as: UTF8.self)
        }
        guard line.hasPrefix("LISTENING "),
            let port = Int(line.dropFirst(10).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw RelayProcess.Failure(description: "\(script) did not start: \(line)")
        }
        self.process = process
        self.port = port
    }

    /// Reads a JSON-lines record file the helper appends to.
    static func records<Record: Decodable>(_ type: Record.Type, in path: String) -> [Record] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
    }
}
