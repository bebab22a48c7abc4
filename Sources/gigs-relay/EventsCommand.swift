import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay events`: read the stored event log, also while the daemon runs.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List and inspect stored events (works while the daemon runs).",
        subcommands: [ListEvents.self, ShowEvent.self]
    )
}

extension EventsCommand {
    /// `gigs-relay events list`.
    struct ListEvents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List stored events, newest first."
        )

        @OptionGroup var options: ConfigOptions

        @Option(help: "Only events of this exact type, e.g. com.gigs.subscription.activated.")
        var type: String?

        @Option(help: "Only events about this subscription or group (data.subscription, else data.id).")
        var subject: String?

        @Option(help: "Only events about this Gigs user (data.user.id, a data.user id, a user event's data.id).")
        var user: String?

        @Option(help: "Only events whose id starts with this, e.g. evt_0SNl.")
        var idPrefix: String?

        @Option(help: "Only events received at or after this time (ISO 8601, e.g. 2026-11-23T10:00:00Z).")
        var since: String?

        @Option(help: "Only events received before this time (ISO 8601).")
        var until: String?

        @Option(help: "The cursor: list the events after (older than) this sequence number, the last of a page.")
        var after: Int64?

        @Option(help: "Show at most this many events (1–100000).")
        var limit: Int = 50

        @Flag(help: "Print a JSON array for scripts instead of a table.")
        var json = false

        func validate() throws {
            guard (1...100_000).contains(limit) else {
                throw ValidationError("--limit must be from 1 to 100000, got \(limit)")
            }
            _ = try since.map { try Terminal.date($0, option: "--since") }
            _ = try until.map { try Terminal.date($0, option: "--until") }
        }

        func run() async throws {
            let configuration = try options.load()
            let filter = EventFilter(
                type: type, subject: subject, user: user, idPrefix: idPrefix,
                since: try since.map { try Terminal.date($0, option: "--since") },
                until: try until.map { try Terminal.date($0, option: "--until") }, before: after, limit: limit)
            let events = try await withConsole(configuration) { try await $0.events(filter) }
            if json {
                Terminal.line(try EventFormatter.json(events.map(EventView.init)))
            } else {
                Terminal.line(EventFormatter.table(events))
                if events.count == limit, let last = events.last {
                    Terminal.error("more: --after \(last.sequence)")
                }
            }
        }
    }

    /// `gigs-relay events show ID`.
    struct ShowEvent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one stored event with its body. Exits 1 when no event has that id."
        )

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The event id (evt_…).")
        var id: String

        @Flag(help: "Print a JSON object for scripts instead of text.")
        var json = false

        func run() async throws {
            let configuration = try options.load()
            let found = try await withConsole(configuration) { console in
                guard let event = try await console.event(id: EventID(id)) else {
                    return nil as (StoredEvent, EventDetailView?)?
                }
                let detail =
                    json ? try await EventDetailView.load(event, console: console, routes: configuration.routes) : nil
                return (event, detail)
            }
            guard let (event, detail) = found else {
                Terminal.error("no stored event has id \(id)")
                throw ExitCode.failure
            }
            Terminal.line(try detail.map(EventFormatter.json) ?? EventFormatter.text(event))
        }
    }
}
