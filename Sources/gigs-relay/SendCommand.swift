import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay send`: a realistic, signed test event, like `stripe trigger`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Build a realistic Gigs event of a type, sign it with the configured secret and POST it.",
        discussion: """
            Types with a hand-made shape: \(TestEvent.knownTypes.joined(separator: ", ")); any other
            com.gigs.* type gets a generic resource. Prints the answer. Exit codes: 0 a 2xx answer;
            1 another answer or no answer; 78 configuration error.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Argument(help: "The event type, e.g. com.gigs.subscription.activated.")
    var type: String

    @Option(help: "Where to POST (default: this configuration's listener and webhook.path).")
    var url: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Set a field by dotted path, e.g. data.sim.type=pSIM (repeatable).", valueName: "key=value")
    )
    var assignments: [String] = []

    @Flag(help: "Print the signed request as a curl command instead of sending it.")
    var print = false

    func run() async throws {
        let configuration = try options.load()
        let secret: WebhookSecret
        do {
            guard
                let first = try configuration.resolveWebhookSecrets(environment: ProcessInfo.processInfo.environment)
                    .first
            else { throw ConfigurationError(key: "webhook.secrets", "no secret") }
            secret = first
        } catch {
            Terminal.error("configuration error in \(options.path): \(error)")
            throw ExitCode(ConfigOptions.configurationErrorExitCode)
        }
        var event: TestEvent
        do {
            event = try TestEvent(type: type, project: configuration.gigs?.project ?? "dev-project")
            for assignment in assignments {
                guard let equals = assignment.firstIndex(of: "=") else {
                    throw TestEvent.Failure(description: "--set needs KEY=VALUE, got \(assignment)")
                }
                try event.set(String(assignment[..<equals]), to: String(assignment[assignment.index(after: equals)...]))
            }
        } catch {
            throw ValidationError("\(error)")
        }
        let request = SignedTestRequest(event: event, secret: secret, url: url ?? configuration.webhookURL)
        if print {
            Terminal.line(request.curl)
            return
        }
        do {
            let answer = try await request.send(timeout: .seconds(30))
            Terminal.line("\(answer.status) \(answer.body)")
            Terminal.error("sent \(event.id) (\(type)) to \(request.url)")
            if !(200..<300).contains(answer.status) { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Terminal.error("cannot send to \(request.url): \(error)")
            throw ExitCode.failure
        }
    }
}
