import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay replay`: new deliveries for stored events, through the current routes.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Create new deliveries for stored events, using the current routes; the running daemon runs them.",
        discussion: """
            Choose events by id, or by --type and --since (with optional --until; needs --yes).
            Each new delivery is marked as a replay. The routes' `where` filters are applied to the stored
            payload; --dry-run also shows which routes each event matches now (numbered in file order).
            Exit codes: 0 done; 1 error; 2 nothing matched.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Argument(help: "Event ids (evt_…).")
    var eventIDs: [String] = []

    @Option(help: "Replay events of this exact type (with --since).")
    var type: String?

    @Option(help: "Replay events received at or after this time (ISO 8601, e.g. 2026-11-23T10:00:00Z).")
    var since: String?

    @Option(help: "…and before this time (ISO 8601).")
    var until: String?

    @Option(help: "Only this action (it must be routed for the event's type).")
    var action: String?

    @Flag(help: "Confirm a replay chosen by --type and --since.")
    var yes = false

    @Flag(help: "Show what would be created without changing anything.")
    var dryRun = false

    func validate() throws {
        let byQuery = type != nil || since != nil || until != nil
        if byQuery && !eventIDs.isEmpty { throw ValidationError("give event ids, or --type and --since, not both") }
        if !byQuery && eventIDs.isEmpty { throw ValidationError("give event ids, or --type T --since ISO --yes") }
        if byQuery {
            guard type != nil, since != nil else { throw ValidationError("--type and --since go together") }
            guard yes || dryRun else { throw ValidationError("a replay by --type and --since needs --yes") }
            _ = try Terminal.date(since!, option: "--since")
            if let until { _ = try Terminal.date(until, option: "--until") }
        }
    }

    func run() async throws {
        let configuration = try options.load()
        if let action, configuration.actions[action] == nil {
            Terminal.error("no action named \(action) is configured")
            throw ExitCode.failure
        }
        let since = try since.map { try Terminal.date($0, option: "--since") }
        let until = try until.map { try Terminal.date($0, option: "--until") }
        try await withConsole(configuration) { console in
            let events =
                if let type, let since {
                    try await console.replayCandidates(type: type, since: since, until: until)
                } else {
                    try await console.replayCandidates(ids: eventIDs.map(EventID.init))
                }
            for id in eventIDs where !events.contains(where: { $0.id.rawValue == id }) {
                Terminal.error("no stored event has id \(id)")
            }
            var plan: [ReplayStep] = []
            for event in events {
                guard !event.isErased else {
                    Terminal.error(
                        "\(event.id) was erased (its user was deleted): only its tombstone is stored, not replayed")
                    continue
                }
                let routes = configuration.routes
                let matched = routes.matching(type: event.type, body: event.body)
                if dryRun {
                    let numbers = matched.map { "\($0 + 1)" }.joined(separator: ", ")
                    Terminal.line(
                        "\(event.id) (\(event.type)) matches "
                            + (matched.isEmpty
                                ? "no route now" : "route\(matched.count == 1 ? "" : "s") \(numbers) now"))
                }
                let actions = routes.actions(for: event.type, body: event.body).filter { action == nil || $0 == action }
                if actions.isEmpty {
                    let typeRouted = routes.contains { $0.events.contains { $0.matches(event.type) } }
                    let payload =
                        typeRouted && matched.isEmpty ? " with this payload (a route's where does not hold)" : ""
                    Terminal.error("\(event.id): no route sends \(event.type)\(payload) to \(action ?? "any action")")
                }
                plan += actions.map { ReplayStep(sequence: event.sequence, action: $0) }
            }
            let created = dryRun ? plan.map { _ in nil } : try await console.replay(plan)
            let eventIDs = Dictionary(events.map { ($0.sequence, $0.id) }, uniquingKeysWith: { first, _ in first })
            for (step, delivery) in zip(plan, created) {
                let event = eventIDs[step.sequence].map(\.rawValue) ?? "?"
                if dryRun {
                    Terminal.line("would replay \(event) → \(step.action)")
                } else if let delivery {
                    Terminal.line("\(delivery): replay of \(event) → \(step.action)")
                } else {
                    Terminal.error("\(event) was removed meanwhile (retention): not replayed to \(step.action)")
                }
            }
            if plan.isEmpty { throw DeliveriesCommand.nothingMatched }
        }
    }
}
