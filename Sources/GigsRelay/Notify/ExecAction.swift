import Foundation
import NIOConcurrencyHelpers
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// `kind = "exec"`: runs a command (no shell) with the raw event on standard input.
///
/// The environment gains `GIGS_RELAY_EVENT_ID`, `GIGS_RELAY_EVENT_TYPE`, `GIGS_RELAY_DELIVERY_ID` and
/// `GIGS_RELAY_ATTEMPT`, beside only `PATH`, `LANG`, `LC_ALL` and `TZ` from the daemon's environment:
/// the daemon's other variables (which may hold secrets) are not passed on. Exit status 0 succeeds; anything else is retried. The command runs in its own
/// process group, which is killed as a whole when the attempt times out or the daemon shuts down. The
/// last ``outputLimit`` bytes of its combined output are kept in the attempt record.
public struct ExecAction: DeliveryAction {
    /// Bytes of output kept.
    static let outputLimit = 4096

    /// Variables of the daemon's environment a command inherits.
    static let inheritedVariables = ["PATH", "LANG", "LC_ALL", "TZ"]

    private let command: [String]
    private let baseEnvironment: [Environment.Key: String]

    /// - Parameter environment: the daemon's environment, of which only ``inheritedVariables`` pass.
    public init(settings: ExecActionSettings, environment: [String: String]) {
        self.command = settings.command
        var base: [Environment.Key: String] = [:]
        for name in Self.inheritedVariables {
            if let value = environment[name] { base[Environment.Key(stringLiteral: name)] = value }
        }
        self.baseEnvironment = base
    }

    public func perform(_ job: DeliveryJob) async -> ActionOutcome {
        var options = PlatformOptions()
        options.processGroupID = 0
        var variables = baseEnvironment
        variables["GIGS_RELAY_EVENT_ID"] = job.eventID.rawValue
        variables["GIGS_RELAY_EVENT_TYPE"] = job.eventType
        variables["GIGS_RELAY_DELIVERY_ID"] = job.id.description
        variables["GIGS_RELAY_ATTEMPT"] = String(job.attempt)
        let environment = Environment.custom(variables)
        let tail = OutputTail(limit: Self.outputLimit)
        do {
            let result = try await run(
                .path(FilePath(command[0])),
                arguments: Arguments(Array(command.dropFirst())),
                environment: environment,
                platformOptions: options,
                input: .array(job.body),
                output: .sequence,
                error: .combinedWithOutput
            ) { execution in
                try await withTaskCancellationHandler {
                    for try await chunk in execution.standardOutput {
                        chunk.withUnsafeBytes { tail.append($0) }
                    }
                } onCancel: {
                    // Timeout or shutdown: end the whole process group, not only the direct child.
                    try? execution.send(signal: .kill, toProcessGroup: true)
                }
            }
            let output = tail.text
            switch result.terminationStatus {
            case .exited(0):
                return .success(output: output)
            case .exited(let code):
                return .retryable(error: "exited with status \(code)", output: output)
            case .signaled(let signal):
                return .retryable(error: "killed by signal \(signal)", output: output)
            }
        } catch {
            return .retryable(error: "cannot run \(command[0]): \(String(describing: error).bounded(200))")
        }
    }
}

/// Keeps the last bytes of a stream.
final class OutputTail: Sendable {
    private let limit: Int
    private let bytes = NIOLockedValueBox<[UInt8]>([])

    init(limit: Int) {
        self.limit = limit
    }

    func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.withLockedValue { bytes in
            bytes.append(contentsOf: chunk)
            if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
        }
    }

    /// The kept bytes as text, or nil when there were none.
    var text: String? {
        bytes.withLockedValue { $0.isEmpty ? nil : String(decoding: $0, as: UTF8.self) }
    }
}
