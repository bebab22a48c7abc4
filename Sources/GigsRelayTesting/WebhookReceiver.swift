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
    /// When it arrived (Unix seconds).
    public let received: Double?
}

/// A real HTTP receiver (`Tests/Support/webhook_receiver.py`) run as a child process: it records every
/// request, checks its signature with an independent Standard Webhooks implementation, and answers with
/// scripted statuses.
public final class WebhookReceiver: Sendable {
    public let port: Int
    private let process: Process
    private let directory = TemporaryDirectory(prefix: "gigs-relay-receiver")

    /// - Parameters:
    ///   - secret: the `whsec_…` secret to verify signatures with.
    ///   - statuses: status codes for requests 1, 2, … (the last repeats).
    ///   - delayFirstMilliseconds: how long the first request waits before its answer.
    public init(secret: String? = nil, statuses: String = "200", delayFirstMilliseconds: Int = 0) throws {
        try statuses.write(toFile: directory.file("statuses"), atomically: true, encoding: .utf8)
        var arguments = [
            "--record", directory.file("requests.jsonl"), "--statuses-file", directory.file("statuses"),
            "--delay-first-ms", String(delayFirstMilliseconds), "--delay-file", directory.file("delay"),
        ]
        if let secret { arguments += ["--secret", secret] }
        let helper = try HelperProcess(script: "webhook_receiver.py", arguments: arguments)
        self.process = helper.process
        self.port = helper.port
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

    /// Makes every following answer wait `milliseconds` (0: none).
    public func setDelay(milliseconds: Int) throws {
        try "\(milliseconds)".write(toFile: directory.file("delay"), atomically: true, encoding: .utf8)
    }

    /// Every request so far, in arrival order.
    public var requests: [ReceivedRequest] {
        HelperProcess.records(ReceivedRequest.self, in: directory.file("requests.jsonl"))
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

/// Like ``eventually(timeout:_:_:)``, for a condition that has to await (an HTTP request, say).
public func eventuallyAsync(
    timeout: Duration = .seconds(30),
    _ what: String,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw RelayProcess.Failure(description: "timed out waiting for \(what)")
}
