import Foundation

/// One request the receiver got.
public struct ReceivedRequest: Decodable, Sendable {
    public let number: Int
    public let path: String
    /// Header names in lower case.
    public let headers: [String: String]
    public let body: String
    /// Whether the independent `standardwebhooks` package verified the signature (nil without a secret).
    public let verified: Bool?
    /// The status it answered.
    public let status: Int
}

/// A real HTTP receiver (`Tests/Support/webhook_receiver.py`) run as a child process: it records every
/// request, checks its signature with an independent Standard Webhooks implementation, and answers with
/// scripted statuses.
public final class WebhookReceiver: Sendable {
    public let port: Int
    private let process: Process
    private let directory = TemporaryDirectory(prefix: "gigs-relay-receiver")

    /// The repository root, found from this source file.
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// - Parameters:
    ///   - secret: the `whsec_…` secret to verify signatures with.
    ///   - statuses: status codes for requests 1, 2, … (the last repeats).
    ///   - delayFirstMilliseconds: how long the first request waits before its answer.
    public init(secret: String? = nil, statuses: String = "200", delayFirstMilliseconds: Int = 0) throws {
        try statuses.write(toFile: directory.file("statuses"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = [
            "python3", Self.repositoryRoot.appendingPathComponent("Tests/Support/webhook_receiver.py").path,
            "--record", directory.file("requests.jsonl"), "--statuses-file", directory.file("statuses"),
            "--delay-first-ms", String(delayFirstMilliseconds),
        ]
        if let secret { arguments += ["--secret", secret] }
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        // Never hold the test runner's own pipes open: it waits for them to close.
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
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
            throw RelayProcess.Failure(description: "the webhook receiver did not start: \(line)")
        }
        self.port = port
    }

    deinit {
        process.terminate()
        directory.remove()
    }

    /// The receiver's URL for `path`.
    public func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Changes the scripted statuses for the following requests.
    public func setStatuses(_ statuses: String) throws {
        try statuses.write(toFile: directory.file("statuses"), atomically: true, encoding: .utf8)
    }

    /// Every request so far, in arrival order.
    public var requests: [ReceivedRequest] {
        guard let text = try? String(contentsOfFile: directory.file("requests.jsonl"), encoding: .utf8) else {
            return []
        }
        return text.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(ReceivedRequest.self, from: Data($0.utf8))
        }
    }

    /// Waits until at least `count` requests arrived and returns them.
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [ReceivedRequest] {
        try await eventually(timeout: timeout, "\(count) requests at the receiver") { requests.count >= count }
        return requests
    }
}

/// Polls `condition` every 25 ms until it holds, or fails after `timeout` naming `what`.
public func eventually(
    timeout: Duration = .seconds(30),
    _ what: String,
    _ condition: () throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? condition()) == true { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw RelayProcess.Failure(description: "timed out waiting for \(what)")
}
