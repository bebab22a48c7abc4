import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay actions`: every action's state and queue, and pausing or resuming one while the daemon
/// runs.
struct ActionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions",
        abstract: "Show each action's state and deliveries; pause or resume one (works while the daemon runs).",
        discussion: "Exit codes: 0 done; 1 error; 2 nothing changed (already paused or resumed).",
        subcommands: [ListActions.self, PauseAction.self, ResumeAction.self],
        defaultSubcommand: ListActions.self
    )
}

extension ActionsCommand {
    /// `gigs-relay actions list` (the default).
    struct ListActions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Name, kind, state (paused, circuit), deliveries in flight, pending and dead, last error."
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: "Print a JSON array for scripts instead of a table.")
        var json = false

        func run() async throws {
            let configuration = try options.load()
            let stored = try await withConsole(configuration) { try await $0.actionSummaries() }
            let rows = ActionView.all(stored, configured: configuration.actions)
            if json {
                Terminal.line(try EventFormatter.json(rows))
                return
            }
            Terminal.line(
                EventFormatter.columns(
                    [["NAME", "KIND", "STATE", "IN FLIGHT", "PENDING", "DEAD", "LAST ERROR"]]
                        + rows.map { action in
                            [
                                action.name, action.kind ?? "(not configured)", Self.state(action),
                                String(action.inFlight), String(action.pending), String(action.dead),
                                action.lastError.map(Terminal.printable) ?? "-",
                            ]
                        }))
        }

        /// "paused", the circuit's state, or both.
        static func state(_ action: ActionView) -> String {
            let circuit = action.circuit == CircuitState.closed.rawValue ? nil : "circuit \(action.circuit)"
            return [action.paused ? "paused" : nil, circuit].compactMap { $0 }.joined(separator: ", ")
                .nonEmpty ?? "active"
        }

    }

    /// `gigs-relay actions pause NAME`.
    struct PauseAction: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Stop claiming an action's deliveries on every instance; running attempts finish.",
            discussion: "Its deliveries wait, spending no attempts, until `gigs-relay actions resume NAME`."
        )

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The action's name.")
        var name: String

        func run() async throws {
            try await ActionsCommand.setPaused(name, true, options: options)
        }
    }

    /// `gigs-relay actions resume NAME`.
    struct ResumeAction: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume", abstract: "Claim a paused action's deliveries again.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The action's name.")
        var name: String

        func run() async throws {
            try await ActionsCommand.setPaused(name, false, options: options)
        }
    }

    static func setPaused(_ name: String, _ paused: Bool, options: ConfigOptions) async throws {
        let configuration = try options.load()
        guard configuration.actions[name] != nil else {
            let known = configuration.actions.keys.sorted().joined(separator: ", ")
            Terminal.error(
                "no action named \(name) is configured; configured actions: \(known.isEmpty ? "none" : known)")
            throw ExitCode.failure
        }
        let changed = try await withConsole(configuration) { try await $0.setPaused(name, paused) }
        guard changed else {
            Terminal.error("\(name) is already \(paused ? "paused" : "active")")
            throw DeliveriesCommand.nothingMatched
        }
        Terminal.line(
            paused
                ? "paused \(name): its deliveries wait; running attempts finish"
                : "resumed \(name): the daemon claims its deliveries within a second")
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
