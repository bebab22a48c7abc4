import ArgumentParser
import AsyncHTTPClient
import Foundation
import GigsRelay

/// `gigs-relay reconcile`: the events the Gigs API's state implies that the store lacks.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Find the events Gigs never delivered, from the state of subscriptions in the Gigs API.",
        discussion: """
            Reads the project's subscriptions and subscription changes newest first, back to --since, and for
            each state that implies a webhook (an activation, an end, a cancellation, an applied or failed
            change) looks for that event in the store. With --emit, stores a reconciled stand-in for each
            missing one (the same id on every run) and routes it like a webhook; the running daemon delivers
            it. Needs [gigs]. Works while the daemon runs.
            Exit codes: 0 nothing missing; 1 events missing; 2 the API could not be read completely (the
            partial result is printed); 78 configuration error.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("How far back, e.g. 72h, 7d or 90m.", valueName: "age"))
    var since = "72h"

    @Option(help: "Pages of 200 read per list at most.")
    var maxPages = 1000

    @Flag(help: "Store a reconciled stand-in for each missing event and route it like a webhook.")
    var emit = false

    @Flag(help: "Print a JSON object for scripts instead of text.")
    var json = false

    /// Exit code of a partial result.
    static let incompleteExitCode: Int32 = 2

    func validate() throws {
        _ = try PruneCommand.age(since, option: "--since")
        guard maxPages >= 1 else { throw ValidationError("--max-pages must be at least 1") }
    }

    func run() async throws {
        let configuration = try options.load()
        let gigs: GigsAPIConfiguration
        let token: String
        do {
            guard let section = configuration.gigs else {
                throw ConfigurationError(key: "gigs", "reconcile reads the Gigs API: configure [gigs]")
            }
            gigs = section
            token = try gigs.token.resolve(key: "gigs.token", environment: ProcessInfo.processInfo.environment)
        } catch {
            Terminal.error("configuration error in \(options.path): \(error)")
            throw ExitCode(ConfigOptions.configurationErrorExitCode)
        }
        // Redirects are not followed: the API key goes to the configured host and nowhere else.
        var settings = HTTPClient.Configuration()
        settings.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
        let api = GigsAPIClient(configuration: gigs, token: Credential(token), client: client)
        let start = unixMilliseconds() - (try PruneCommand.age(since, option: "--since"))
        let result: Reconciliation
        do {
            result = try await withConsole(configuration) { console in
                // Recorded like the schedule's runs, for the console and the operator API; a store this
                // command may only read does not stop it.
                var run: Int64?
                do {
                    run = try await console.startReconcileRun(
                        .command, instance: ReconcileRun.thisInstance, when: { _ in true })
                } catch {
                    Terminal.error("cannot record this run in the store (it goes on): \(error)")
                }
                let reconciler = Reconciler(api: api, store: console, maximumPages: maxPages)
                var result = try await reconciler.run(since: start, forEmit: emit)
                if emit {
                    try await reconciler.emit(
                        &result, project: gigs.project, routes: configuration.routes, settings: configuration.actions,
                        now: unixMilliseconds())
                }
                if let run {
                    do {
                        try await console.finishReconcileRun(run, result: result)
                    } catch {
                        Terminal.error("cannot record this run's result in the store: \(error)")
                    }
                }
                return result
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            Terminal.line(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            for missing in result.missing {
                Terminal.line(
                    Terminal.printable(
                        "missing \(missing.type) for \(missing.resource) at \(missing.time): \(missing.reason)"))
            }
            Terminal.line(
                "read \(result.resourcesRead) resources since \(result.since): \(result.expected) events expected, "
                    + "\(result.found) found, \(result.missing.count) missing")
            if let emitted = result.emitted {
                Terminal.line("emitted \(emitted) reconciled events")
            }
            if let reason = result.incomplete {
                Terminal.line(Terminal.printable("incomplete: \(reason); more may be missing"))
            }
        }
        if let reason = result.incomplete {
            Terminal.error(Terminal.printable("the Gigs API could not be read completely: \(reason)"))
            throw ExitCode(Self.incompleteExitCode)
        }
        if !result.missing.isEmpty { throw ExitCode.failure }
    }
}
