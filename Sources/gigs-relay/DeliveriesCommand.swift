import ArgumentParser
import Foundation
import GigsRelay

/// `gigs-relay deliveries`: inspect deliveries and retry dead letters, also while the daemon runs.
struct DeliveriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "List, inspect and retry deliveries (works while the daemon runs).",
        discussion: "Exit codes: 0 done; 1 error; 2 nothing matched.",
        subcommands: [ListDeliveries.self, ShowDelivery.self, RetryDeliveries.self]
    )

    /// Exit code when no delivery or event matched.
    static let nothingMatched = ExitCode(2)
}

extension DeliveriesCommand {
    /// `gigs-relay deliveries list`.
    struct ListDeliveries: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List deliveries, newest first.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "Only this status: pending, running, succeeded, failed, dead or skipped.")
        var status: String?

        @Option(help: "Only deliveries to this action.")
        var action: String?

        @Option(help: "Only deliveries of this event id.")
        var event: String?

        @Option(help: "Show at most this many (1–100000).")
        var limit: Int = 50

        @Flag(help: "Print a JSON array for scripts instead of a table.")
        var json = false

        func validate() throws {
            if let status, DeliveryStatus(rawValue: status) == nil {
                let statuses = DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--status must be one of \(statuses), got \(status)")
            }
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 100000") }
        }

        func run() throws {
            let configuration = try options.load()
            let filter = DeliveryFilter(
                status: status.flatMap(DeliveryStatus.init(rawValue:)),
                action: action,
                eventID: event.map(EventID.init),
                limit: limit
            )
            let deliveries = try openReader(configuration).deliveries(filter)
            Terminal.line(
                json
                    ? try DeliveryFormatter.json(deliveries.map(DeliveryFormatter.summary))
                    : DeliveryFormatter.table(deliveries)
            )
            if deliveries.isEmpty { throw DeliveriesCommand.nothingMatched }
        }
    }

    /// `gigs-relay deliveries show ID`.
    struct ShowDelivery: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one delivery and its attempts.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The delivery id (dlv_… or its number).")
        var id: String

        @Flag(help: "Print a JSON object for scripts instead of text.")
        var json = false

        func run() throws {
            guard let deliveryID = DeliveryID(parsing: id) else { throw ValidationError("not a delivery id: \(id)") }
            let configuration = try options.load()
            let reader = try openReader(configuration)
            guard let delivery = try reader.deliveries(DeliveryFilter(id: deliveryID, limit: 1)).first else {
                Terminal.error("no delivery has id \(id)")
                throw DeliveriesCommand.nothingMatched
            }
            let attempts = try reader.attempts(of: deliveryID)
            Terminal.line(
                json
                    ? try DeliveryFormatter.json(DeliveryFormatter.detail(delivery, attempts: attempts))
                    : DeliveryFormatter.text(delivery, attempts: attempts)
            )
        }
    }

    /// `gigs-relay deliveries retry`.
    struct RetryDeliveries: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Send dead (or failed) deliveries back to pending with a fresh attempt budget.",
            discussion: "The running daemon picks them up within a second."
        )

        @OptionGroup var options: ConfigOptions

        @Argument(help: "Delivery ids (dlv_… or numbers).")
        var ids: [String] = []

        @Flag(help: "Retry every dead delivery (needs --yes).")
        var allDead = false

        @Flag(help: "Confirm a bulk retry.")
        var yes = false

        @Flag(help: "Show what would be retried without changing anything.")
        var dryRun = false

        func validate() throws {
            if allDead && !ids.isEmpty { throw ValidationError("give delivery ids or --all-dead, not both") }
            if !allDead && ids.isEmpty { throw ValidationError("give delivery ids, or --all-dead --yes") }
            if allDead && !yes && !dryRun { throw ValidationError("--all-dead changes many deliveries: add --yes") }
            for id in ids where DeliveryID(parsing: id) == nil { throw ValidationError("not a delivery id: \(id)") }
        }

        func run() throws {
            let configuration = try options.load()
            let maintenance = try openMaintenance(configuration)
            let wanted = allDead ? try maintenance.deadDeliveries() : ids.compactMap(DeliveryID.init(parsing:))
            let retried = try maintenance.retry(wanted, dryRun: dryRun)
            for id in retried { Terminal.line("\(dryRun ? "would retry" : "retried") \(id)") }
            for id in wanted where !retried.contains(id) { Terminal.error("\(id) is not a dead or failed delivery") }
            if retried.isEmpty { throw DeliveriesCommand.nothingMatched }
        }
    }
}

/// Opens the configured store read-only, or exits 1 saying why.
func openReader(_ configuration: RelayConfiguration) throws -> EventLogReader {
    try openStore { () throws(StoreError) in try EventLogReader(path: configuration.store.path) }
}

/// Opens the configured store for an operator change, or exits 1 saying why.
func openMaintenance(_ configuration: RelayConfiguration) throws -> StoreMaintenance {
    try openStore { () throws(StoreError) in try StoreMaintenance(path: configuration.store.path) }
}

private func openStore<Store>(_ open: () throws(StoreError) -> Store) throws -> Store {
    do {
        return try open()
    } catch {
        Terminal.error("\(error)")
        throw ExitCode.failure
    }
}
