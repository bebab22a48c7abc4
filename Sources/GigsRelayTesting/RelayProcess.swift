import Foundation
import NIOConcurrencyHelpers

/// The real `gigs-relay` binary run as a child process, with its standard error captured.
public final class RelayProcess: Sendable {
    /// Thrown when the process does not get where a test waits for it to be.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What the child wrote, shared with the reader thread.
    private final class Output: Sendable {
        let text = NIOLockedValueBox("")
        let isComplete = NIOLockedValueBox(false)
    }

    private let process: Process
    private let output = Output()

    /// The built `gigs-relay` next to the test bundle, or `$GIGS_RELAY_BINARY`.
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["GIGS_RELAY_BINARY"] { return path }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        // The test binary sits inside `gigs-relayPackageTests.xctest/…` on some platforms.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("gigs-relay").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return ".build/debug/gigs-relay"
    }

    /// Starts `gigs-relay ARGUMENTS…` in `directory` with `environment` added to this process's.
    ///
    /// - Parameter launcher: a command that starts the binary (e.g. `systemd-socket-activate -l …`); the
    ///   binary's path and the arguments follow it.
    public init(
        arguments: [String],
        directory: String,
        environment: [String: String] = [:],
        launcher: [String] = []
    ) throws {
        let process = Process()
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + launcher.dropFirst() + [Self.binaryPath] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binaryPath)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "NOTIFY_SOCKET")
        merged.removeValue(forKey: "GIGS_WEBHOOK_SECRET")
        merged.merge(environment) { _, new in new }
        process.environment = merged
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        self.process = process
        try process.run()

        let reader = pipe.fileHandleForReading
        let output = self.output
        let thread = Thread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                output.text.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
            }
            output.isComplete.withLockedValue { $0 = true }
        }
        thread.start()
    }

    /// Everything the process wrote so far (standard error and standard output).
    public var log: String { output.text.withLockedValue { $0 } }

    public var processIdentifier: Int32 { process.processIdentifier }

    /// Whether the process still runs (asked as `waitForExit` asks).
    public var isRunning: Bool { process.isRunning && exitStatusWithoutReaping() == nil }

    /// Waits until the daemon logs its listening address and returns it (`HOST:PORT`).
    public func listenAddress(timeout: Duration = .seconds(30)) async throws -> String {
        try await loggedValue("relay.listen.address", timeout: timeout)
    }

    /// Waits until the daemon logs its admin listener's address and returns it (`HOST:PORT`).
    public func adminAddress(timeout: Duration = .seconds(30)) async throws -> String {
        try await loggedValue("relay.admin.address", timeout: timeout)
    }

    /// Waits for the first `KEY=value` log metadata with this key and returns the value.
    private func loggedValue(_ key: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = Self.firstMatch(of: key, in: log) { return value }
            guard isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "gigs-relay did not log \(key); its log:\n\(log)")
    }

    /// The value of `key=value` in a text log, or of `"key":"value"` in a JSON one.
    private static func firstMatch(of key: String, in log: String) -> String? {
        if let range = log.range(of: key + "=") {
            let value = log[range.upperBound...].prefix { !$0.isWhitespace }
            return value.isEmpty ? nil : String(value)
        }
        if let range = log.range(of: "\"\(key)\":\"") {
            let value = log[range.upperBound...].prefix { $0 != "\"" }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// Sends a signal (SIGTERM, SIGKILL, …).
    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its exit status (or the signal number).
    ///
    /// The exit is asked of the kernel as well as of Foundation: Foundation learns of it only when a socket
    /// the child inherited closes, and a process another test spawned at the same moment may inherit that
    /// socket too and hold it open for as long as it runs (seen: `gigs-relay send` exited, its test waited
    /// on).
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        var status: Int32
        while true {
            if !process.isRunning {
                status = process.terminationStatus
                break
            }
            if let exited = exitStatusWithoutReaping() {
                status = exited
                break
            }
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "gigs-relay did not exit in time; its log:\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the reader collect the last output; not for long, since the pipe may be held open the same way.
        let outputDeadline = min(deadline, ContinuousClock.now + .seconds(2))
        while !output.isComplete.withLockedValue({ $0 }) && ContinuousClock.now < outputDeadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        return status
    }

    /// The exit status (or the signal number) once the child has exited, without reaping it: Foundation's
    /// monitor reaps it later.
    private func exitStatusWithoutReaping() -> Int32? {
        var info = siginfo_t()
        let pid = process.processIdentifier
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
            info._sifields._sigchld.si_pid == pid
        else { return nil }
        return info._sifields._sigchld.si_status
    }

    /// Sends SIGTERM and waits for a clean exit (status 0); any other status throws with the log, which
    /// holds the reason (a sanitizer's report, say).
    public func stop(timeout: Duration = .seconds(30)) async throws {
        signal(SIGTERM)
        let status = try await waitForExit(timeout: timeout)
        guard status == 0 else {
            throw Failure(description: "gigs-relay exited with status \(status) after SIGTERM; its log:\n\(log)")
        }
    }

    /// Runs `gigs-relay ARGUMENTS…` to completion and returns its exit status and output.
    public static func run(
        _ arguments: [String],
        directory: String,
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        let process = try RelayProcess(arguments: arguments, directory: directory, environment: environment)
        let status = try await process.waitForExit()
        return (status, process.log)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
