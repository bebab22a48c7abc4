import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// `kind = "exec"`: runs a command (no shell) with the raw event on standard input.
///
/// The environment gains `GIGS_RELAY_EVENT_ID`, `GIGS_RELAY_EVENT_TYPE`, `GIGS_RELAY_DELIVERY_ID`,
/// `GIGS_RELAY_ATTEMPT` (and `GIGS_RELAY_OUT_OF_ORDER=1` for a late ordered delivery,
/// `GIGS_RELAY_RECONCILED=1` for a reconciled stand-in, `TRACEPARENT` when the attempt is traced), beside only
/// `PATH`, `LANG`, `LC_ALL` and `TZ` from the daemon's environment: the daemon's other variables
/// (which may hold secrets) are not passed on. Exit status 0 succeeds; anything else is retried. The
/// command runs in its own process group, which is killed as a whole when the attempt times out or the
/// daemon shuts down. The last ``outputLimit`` bytes of its combined output
/// are kept in the attempt record.
///
/// A command is an untrusted peer: it may never read its input, close its pipes, print without end,
/// leave a background child holding its output open, or die by a signal. None of that can block or
/// crash the daemon:
/// - standard input is an anonymous memory file holding the event (``EventInputFile``), not a pipe, so
///   writing it can neither block nor fail with `EPIPE`, whether or not the command reads it;
/// - standard output and error go to a pipe the daemon reads on its event loop (``CommandOutput``),
///   keeping only the tail; once the command has exited, reading stops after ``outputGrace`` even if a
///   background child still holds the pipe open.
public struct ExecAction: DeliveryAction {
    /// Bytes of output kept.
    static let outputLimit = 4096

    /// How long output is still read after the command exited (a background child may hold the pipe).
    static let outputGrace: Duration = .milliseconds(500)

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
        if job.isOutOfOrder { variables["GIGS_RELAY_OUT_OF_ORDER"] = "1" }
        if job.isReconciled { variables["GIGS_RELAY_RECONCILED"] = "1" }
        // W3C trace context for a command that traces (OpenTelemetry's environment carrier).
        if let trace = job.trace?.context {
            variables["TRACEPARENT"] = trace.traceparent
            if let state = trace.tracestate { variables["TRACESTATE"] = state }
        }

        let input: EventInputFile
        let output: CommandOutput
        do {
            input = try EventInputFile(job.body)
        } catch {
            return .retryable(error: "cannot prepare the command's input: \(error)")
        }
        defer { input.close() }
        do {
            output = try await CommandOutput.open(limit: Self.outputLimit)
        } catch {
            return .retryable(error: "cannot open a pipe for the command's output: \(error)")
        }
        let group = ProcessGroup()
        let status: TerminationStatus?
        var spawnError: (any Error)?
        do {
            status = try await withTaskCancellationHandler {
                try await run(
                    .path(FilePath(command[0])),
                    arguments: Arguments(Array(command.dropFirst())),
                    environment: .custom(variables),
                    platformOptions: options,
                    input: .fileDescriptor(input.descriptor, closeAfterSpawningProcess: false),
                    output: .fileDescriptor(output.writeEnd, closeAfterSpawningProcess: false),
                    error: .combinedWithOutput
                ) { execution in
                    group.started(execution.processIdentifier.value)
                    // The child has its copy: only then does the pipe end when the command's side closes.
                    output.closeWriteEnd()
                }.terminationStatus
            } onCancel: {
                // Timeout or shutdown: end the whole process group, not only the direct child.
                group.kill()
            }
        } catch {
            status = nil
            spawnError = error
        }
        group.finished()
        output.closeWriteEnd()
        let tail = await output.finish(grace: status == nil ? .zero : Self.outputGrace)
        switch status {
        case nil:
            let reason = spawnError.map { String(describing: $0) } ?? ""
            return .retryable(error: "cannot run \(command[0]): \(reason.bounded(200))")
        case .exited(0)?:
            job.trace?.set(TraceAttribute.exitStatus, 0)
            return .success(output: tail)
        case .exited(let code)?:
            job.trace?.set(TraceAttribute.exitStatus, Int(code))
            return .retryable(error: "exited with status \(code)", output: tail)
        case .signaled(let signal)?:
            job.trace?.set(TraceAttribute.exitStatus, -Int(signal))
            return .retryable(error: "killed by signal \(signal)", output: tail)
        }
    }
}

/// The process group of one running command, to kill on timeout or shutdown.
final class ProcessGroup: Sendable {
    private let leader = NIOLockedValueBox<pid_t?>(nil)

    /// The command started; its process id is its group's id (`processGroupID = 0`).
    func started(_ pid: pid_t) { leader.withLockedValue { $0 = pid } }

    /// The command was reaped: its id may be reused, so it is no longer signalled.
    func finished() { leader.withLockedValue { $0 = nil } }

    /// SIGKILL to every process of the group, when the command is still running.
    func kill() {
        leader.withLockedValue { pid in
            if let pid { _ = Glibc.kill(-pid, SIGKILL) }
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
            if chunk.count >= limit {
                bytes = Array(chunk.suffix(limit))
                return
            }
            bytes.append(contentsOf: chunk)
            if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
        }
    }

    /// The kept bytes as text, or nil when there were none.
    var text: String? {
        bytes.withLockedValue { $0.isEmpty ? nil : String(decoding: $0, as: UTF8.self) }
    }
}
