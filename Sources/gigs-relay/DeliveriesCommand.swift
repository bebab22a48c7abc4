import ArgumentParser
import Foundation
import GigsRelay
import Logging

/// `gigs-relay deliveries`: inspect deliveries and retry dead letters, also while the daemon runs.
struct DeliveriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "List, inspect, retry and skip deliveries (works while the daemon runs).",
        discussion: "Exit codes: 0 done; 1 error; 2 nothing matched.",
        subcommands: [ListDeliveries.self, ShowDelivery.self, RetryDeliveries.self, SkipDeliveries.self]
    )

    /// Exit code when no delivery or event matched.
    static let nothingMatched = ExitCode(2)
}

extension DeliveriesCommand {
    /// `gigs-relay deliveries list`.
    struct ListDeliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List deliveries, newest first.")

        @OptionGroup var options: ConfigOptions

        @Option(
            help: """
                Only this status: pending, running, succeeded, failed, dead, skipped, or blocked (pending or \
                failed behind a dead delivery of its ordered subject).
                """)
        var status: String?

        @Option(help: "Only deliveries to this action.")
        var action: String?

        @Option(help: "Only deliveries of this event id.")
        var event: String?

        @Option(help: "Only deliveries of events about this subject (a subscription or group id).")
        var subject: String?

        @Option(help: "Only deliveries created at or after this time (ISO 8601).")
        var since: String?

        @Option(help: "The cursor: list the deliveries after (older than) this one (dlv_… or its number).")
        var after: String?

        @Option(help: "Show at most this many (1–100000).")
        var limit: Int = 50

        @Flag(help: "Print a JSON array for scripts instead of a table.")
        var json = false

        func validate() throws {
            if let status, status != "blocked", DeliveryStatus(rawValue: status) == nil {
                let statuses = DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--status must be one of \(statuses) or blocked, got \(status)")
            }
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 100000") }
            _ = try since.map { try Terminal.date($0, option: "--since") }
            if let after, DeliveryID(parsing: after) == nil { throw ValidationError("not a delivery id: \(after)") }
        }

        func run() async throws {
            let configuration = try options.load()
            let filter = DeliveryFilter(
                status: status.flatMap(DeliveryStatus.init(rawValue:)),
                action: action,
                eventID: event.map(EventID.init),
                subject: subject,
                since: try since.map { try Terminal.date($0, option: "--since") },
                before: after.flatMap(DeliveryID.init(parsing:)),
                limit: limit
            )
            let blocksOnDead = Set(configuration.actions.filter { $0.value.ordering?.deadBlocks == true }.keys)
            let (deliveries, blockers) = try await withConsole(configuration) { console in
                try await console.listDeliveries(filter, onlyBlocked: status == "blocked", blocksOnDead: blocksOnDead)
            }
            Terminal.line(
                json
                    ? try EventFormatter.json(deliveries.map { DeliveryView($0, blockedBy: blockers[$0.id]) })
                    : DeliveryFormatter.table(deliveries, blockers: blockers)
            )
            if !json, deliveries.count == limit, let last = deliveries.last {
                Terminal.error("more: --after \(last.id)")
            }
            if deliveries.isEmpty { throw DeliveriesCommand.nothingMatched }
        }
    }

    /// `gigs-relay deliveries show ID`.
    struct ShowDelivery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one delivery and its attempts.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The delivery id (dlv_… or its number).")
        var id: String

        @Flag(help: "Print a JSON object for scripts instead of text.")
        var json = false

        func run() async throws {
            guard let deliveryID = DeliveryID(parsing: id) else { throw ValidationError("not a delivery id: \(id)") }
            let configuration = try options.load()
            let blocksOnDead = Set(configuration.actions.filter { $0.value.ordering?.deadBlocks == true }.keys)
            let found = try await withConsole(configuration) { console in
                let (listed, blockers) = try await console.listDeliveries(
                    DeliveryFilter(id: deliveryID, limit: 1), blocksOnDead: blocksOnDead)
                guard let delivery = listed.first else {
                    return nil as (StoredDelivery, [StoredAttempt], DeliveryID?)?
                }
                return (delivery, try await console.attempts(of: deliveryID), blockers[deliveryID])
            }
            guard let (delivery, attempts, blocker) = found else {
                Terminal.error("no delivery has id \(id)")
                throw DeliveriesCommand.nothingMatched
            }
            Terminal.line(
                json
                    ? try EventFormatter.json(DeliveryDetailView(delivery, attempts: attempts, blockedBy: blocker))
                    : DeliveryFormatter.text(delivery, attempts: attempts, blockedBy: blocker)
            )
        }
    }

    /// `gigs-relay deliveries retry`.
    struct RetryDeliveries: AsyncParsableCommand {
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

        func run() async throws {
            let configuration = try options.load()
            let (wanted, retried) = try await withConsole(configuration) { console in
                let wanted =
                    allDead ? try await console.deadDeliveries() : ids.compactMap(DeliveryID.init(parsing:))
                return (wanted, try await console.retry(wanted, dryRun: dryRun))
            }
            for id in retried { Terminal.line("\(dryRun ? "would retry" : "retried") \(id)") }
            for id in wanted where !retried.contains(id) { Terminal.error("\(id) is not a dead or failed delivery") }
            if retried.isEmpty { throw DeliveriesCommand.nothingMatched }
        }
    }
}

extension DeliveriesCommand {
    /// `gigs-relay deliveries skip ID…`.
    struct SkipDeliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "skip",
            abstract: "Mark pending, failed or dead deliveries skipped: they are never attempted again.",
            discussion: "A running delivery cannot be skipped: wait for its attempt to end, or pause its action."
        )

        @OptionGroup var options: ConfigOptions

        @Argument(help: "Delivery ids (dlv_… or numbers).")
        var ids: [String]

        @Flag(help: "Show what would be skipped without changing anything.")
        var dryRun = false

        func validate() throws {
            for id in ids where DeliveryID(parsing: id) == nil { throw ValidationError("not a delivery id: \(id)") }
        }

        func run() async throws {
            let configuration = try options.load()
            let wanted = ids.compactMap(DeliveryID.init(parsing:))
            let skipped = try await withConsole(configuration) { try await $0.skip(wanted, dryRun: dryRun) }
            for id in skipped { Terminal.line("\(dryRun ? "would skip" : "skipped") \(id)") }
            for id in wanted where !skipped.contains(id) {
                Terminal.error("\(id) is not a pending, failed or dead delivery")
            }
            if skipped.isEmpty { throw DeliveriesCommand.nothingMatched }
        }
    }
}

/// Opens the configured store (SQLite or PostgreSQL) for the CLI's reads and changes, runs `body` with
/// it and closes it; a store error exits 1 saying why, a missing key (or a key that cannot be read) 78.
func withConsole<Value>(
    _ configuration: RelayConfiguration,
    _ body: (any StoreConsole) async throws -> Value
) async throws -> Value {
    let console: any StoreConsole
    do {
        let environment = ProcessInfo.processInfo.environment
        console = try await StoreLocation(configuration.store).openConsole(
            environment: environment,
            logger: Logger(label: "gigs-relay.cli") { _ in
                SwiftLogNoOpLogHandler()
            },
            sealer: try PayloadSealer(configuration.store, environment: environment))
    } catch let error as ConfigurationError {
        Terminal.error("configuration error: \(error)")
        throw ExitCode(ConfigOptions.configurationErrorExitCode)
    } catch let error as StoreError where error.isConfigurationError {
        Terminal.error("configuration error: \(error.detail)")
        throw ExitCode(ConfigOptions.configurationErrorExitCode)
    } catch {
        Terminal.error("\(error)")
        throw ExitCode.failure
    }
    do {
        let value = try await body(console)
        await console.close()
        return value
    } catch let error as StoreError {
        await console.close()
        Terminal.error("\(error)")
        throw ExitCode.failure
    } catch {
        await console.close()
        throw error
    }
}
