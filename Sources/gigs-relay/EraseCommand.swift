import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay erase --user usr_… [--yes] [--json]`.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase what the store holds about a Gigs user.",
        discussion: """
            Replaces the payload of every stored event about the user (data.user.id, a data.user id, a user
            event's data.id) with a tombstone (id, type, subject, time and erased: when and why), clears the
            errors and outputs of their attempts and skips their pending and failed deliveries. Statuses,
            times and attempt counts stay. Without --yes it only counts. Online beside the running daemon,
            500 events per transaction. Exit codes: 0 erased (or counted); 1 an error; 2 nothing about the
            user is stored (or all of it is erased already); 78 configuration error.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "The Gigs user id (usr_…).")
    var user: String

    @Flag(help: "Erase; without it, only count what would be erased.")
    var yes = false

    @Flag(help: "Print the counts as a JSON object.")
    var json = false

    func validate() throws {
        guard !user.isEmpty, !user.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw ValidationError("--user must be a user id such as usr_123")
        }
    }

    func run() async throws {
        let configuration = try options.load()
        let result = try await withConsole(configuration) { console in
            try await console.erase(.user(user), reason: "erased by an operator (gigs-relay erase)", dryRun: !yes)
        }
        if json {
            Terminal.line(try EventFormatter.json(EraseView(user: user, erased: yes, counts: result)))
        } else {
            let verb = yes ? "erased" : "would erase"
            Terminal.line(
                "\(verb) \(result.events) event\(result.events == 1 ? "" : "s") of \(user): "
                    + "\(result.attempts) attempts' texts cleared, \(result.skippedDeliveries) pending deliveries skipped"
            )
            if !yes, result.events > 0 { Terminal.error("add --yes to erase them") }
        }
        if result.events == 0 { throw DeliveriesCommand.nothingMatched }
    }

    /// `erase --json`.
    struct EraseView: Encodable {
        var user: String
        /// False for a count without --yes.
        var erased: Bool
        var counts: Erasure.Result
    }
}
