import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay prune`: removes old, finished events now (retention does it in the background).
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove events older than a given age whose deliveries all succeeded or were skipped.",
        discussion: """
            Events with pending, running or failed deliveries are never removed; events with dead ones only
            with --include-dead. Their deliveries and attempts go with them. Works while the daemon runs.
            Exit codes: 0 events removed; 1 error; 2 nothing matched.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("Age, e.g. 30d, 12h, 90m or 3600s.", valueName: "age"))
    var olderThan: String

    @Flag(help: "Also remove events whose deliveries are dead.")
    var includeDead = false

    @Flag(help: "Confirm the removal.")
    var yes = false

    @Flag(help: "Count what would be removed without changing anything.")
    var dryRun = false

    func validate() throws {
        _ = try Self.age(olderThan)
        guard yes || dryRun else { throw ValidationError("prune removes events for good: add --yes (or --dry-run)") }
    }

    /// Milliseconds in `30d`, `12h`, `90m` or `3600s`, given to `option`.
    static func age(_ text: String, option: String = "--older-than") throws -> Int64 {
        guard let milliseconds = TimeSpan.milliseconds(text) else {
            throw ValidationError("\(option) must be \(TimeSpan.form); got \(text)")
        }
        return milliseconds
    }

    func run() async throws {
        let configuration = try options.load()
        let cutoff = unixMilliseconds() - (try Self.age(olderThan))
        let count = try await withConsole(configuration) {
            try await $0.prune(before: cutoff, includeDead: includeDead, dryRun: dryRun)
        }
        let before = Date(timeIntervalSince1970: Double(cutoff) / 1000).formatted(.iso8601)
        Terminal.line(
            dryRun
                ? "would remove \(count) events received before \(before)"
                : "removed \(count) events received before \(before)")
        if count == 0 { throw DeliveriesCommand.nothingMatched }
    }
}
