import ArgumentParser
import Foundation
import GigsRelay
import Logging

/// `gigs-relay store`: whole-store tools.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Whole-store tools: copy between SQLite and PostgreSQL, seal with the encryption key.",
        subcommands: [Copy.self, Encrypt.self, Rekey.self]
    )

    /// `gigs-relay store encrypt`.
    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "encrypt",
            abstract: "Seal every plaintext row of the store with store.encryption_key.",
            discussion: """
                Seals the bodies, attempt errors and outputs stored before the key was configured (rows the
                daemon writes with the key are sealed already; restart it with the key first). Online beside
                the running daemon, 500 rows per transaction, printing progress; safe to interrupt at any
                point (SIGKILL included) and to run again, which seals what is left. Rows sealed with a
                previous key stay as they are (store rekey moves them). Exit codes: 0 every row is sealed;
                1 an error; 78 no store.encryption_key, or the store needs a key the configuration lacks.
                """
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await StoreCommand.reseal(.encrypt, options)
        }
    }

    /// `gigs-relay store rekey`.
    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rekey",
            abstract: "Move every row of the store to store.encryption_key, then let the previous keys go.",
            discussion: """
                Reseals every row not sealed with store.encryption_key (with a key in
                store.previous_encryption_keys, or not at all) with it, online and resumable like store
                encrypt. When a second pass finds nothing left, the store stops listing the other keys: they
                can be removed from the configuration, and the store opens without them. Restart every
                instance with the new key first. Exit codes as for store encrypt.
                """
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await StoreCommand.reseal(.rekey, options)
        }
    }

    /// Runs ``Reseal`` over every table until a pass changes nothing (at most three passes), printing
    /// progress; a rekey then unlists the other keys.
    static func reseal(_ mode: Reseal.Mode, _ options: ConfigOptions) async throws {
        let configuration = try options.load()
        let current: StoreKey
        do {
            guard
                let key = try PayloadSealer(configuration.store, environment: ProcessInfo.processInfo.environment)
                    .current
            else {
                throw ConfigurationError(
                    key: "store.encryption_key", "is not set: store \(mode.rawValue) seals with it (docs/encryption.md)"
                )
            }
            current = key
        } catch {
            Terminal.error("configuration error in \(options.path): \(error)")
            throw ExitCode(ConfigOptions.configurationErrorExitCode)
        }
        try await withConsole(configuration) { console in
            for pass in 1...3 {
                var changedInPass = 0
                for table in Reseal.Table.allCases {
                    var cursor: Int64 = 0
                    var read = 0
                    var changed = 0
                    while true {
                        let batch = try await console.reseal(table, after: cursor, mode: mode)
                        guard let next = batch.cursor else { break }
                        cursor = next
                        read += batch.read
                        changed += batch.changed
                        if read.isMultiple(of: 10 * Reseal.batchSize) {
                            Terminal.line("  \(table): \(read) rows read, \(changed) sealed")
                        }
                    }
                    changedInPass += changed
                    Terminal.line(
                        "pass \(pass), \(table): \(read) rows read, \(changed) sealed with key id \(current.id)")
                }
                guard changedInPass > 0 else {
                    Terminal.line(
                        mode == .rekey ? "every row is sealed with key id \(current.id)" : "every row is sealed")
                    if mode == .rekey {
                        let unlisted = try await console.unlistKeys(keeping: current.id)
                        Terminal.line(
                            "the store no longer needs \(unlisted) other key\(unlisted == 1 ? "" : "s"): "
                                + "remove them from store.previous_encryption_keys")
                    }
                    return
                }
            }
            Terminal.error("rows were still changing after three passes: run it again")
            throw ExitCode.failure
        }
    }

    /// `gigs-relay store copy --from PATH_OR_URL --to PATH_OR_URL`.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy events, deliveries and attempts from one store to another, keeping their ids.",
            discussion: """
                Either side is a SQLite file path or a postgres://USER@HOST[:PORT]/DATABASE URL; a missing
                SQLite destination is created, a PostgreSQL one migrated. Idempotent and resumable: a second run
                copies only what is new (the tail a still-running source wrote) and deliveries whose status
                changed. The source may be in use by its daemon. Ends with a count and checksum comparison.
                Exit codes: 0 every source row is in the destination; 1 an error, or rows still differ (the
                source changed during the copy: run it again).
                """
        )

        @Option(help: "The store to copy from: a SQLite file or a postgres:// URL.")
        var from: String

        @Option(help: "The store to copy into: a SQLite file or a postgres:// URL.")
        var to: String

        @Option(help: "The --from database's password as a secret reference (env:NAME, file:PATH, credential:NAME).")
        var fromPassword: String?

        @Option(help: "The --to database's password as a secret reference.")
        var toPassword: String?

        @Flag(help: "Copy into a destination that already holds events (a resume or a catch-up).")
        var yes = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let logger = Logger(label: "gigs-relay.store-copy") { _ in SwiftLogNoOpLogHandler() }
            let source: StoreLocation
            let destination: StoreLocation
            do {
                source = try StoreLocation(
                    parsing: from,
                    password: try fromPassword.map { try SecretReference(parsing: $0, key: "--from-password") },
                    key: "--from")
                destination = try StoreLocation(
                    parsing: to,
                    password: try toPassword.map { try SecretReference(parsing: $0, key: "--to-password") },
                    key: "--to")
            } catch {
                throw ValidationError("\(error)")
            }
            guard source.description != destination.description else {
                throw ValidationError("--from and --to are the same store")
            }
            let rows: (any StoreRows, any StoreRows)
            do {
                let reader = try await source.openRows(environment: environment, logger: logger, create: false)
                do {
                    rows = (
                        reader, try await destination.openRows(environment: environment, logger: logger, create: true)
                    )
                } catch {
                    await reader.close()
                    throw error
                }
            } catch {
                Terminal.error("\(error)")
                throw ExitCode.failure
            }
            let reports: [StoreCopy.TableReport]
            do {
                let present = try await rows.1.events(after: 0, limit: 1)
                if !present.isEmpty && !yes {
                    Terminal.error(
                        "\(destination) already holds events: add --yes to copy into it (a resume or a catch-up)")
                    throw ExitCode.failure
                }
                Terminal.line("copying \(source.backend) \(source) → \(destination.backend) \(destination)")
                let copy = StoreCopy(from: rows.0, to: rows.1) { report in
                    if report.source.isMultiple(of: 5000) {
                        Terminal.line("  \(report.table): \(report.source) read, \(report.copied) copied")
                    }
                }
                reports = try await copy.run()
            } catch {
                if !(error is ExitCode) { Terminal.error("\(error)") }
                await rows.0.close()
                await rows.1.close()
                throw ExitCode.failure
            }
            await rows.0.close()
            await rows.1.close()
            for report in reports {
                let checksums =
                    "checksum \(Self.hex(report.sourceChecksum)) "
                    + (report.sourceChecksum == report.destinationChecksum ? "=" : "≠")
                    + " \(Self.hex(report.destinationChecksum))"
                let newer = report.newer > 0 ? " (\(report.newer) changed since in the destination)" : ""
                Terminal.line(
                    "\(report.table): \(report.source) in the source, \(report.copied) copied, \(report.skipped) left out;"
                        + " \(report.matching) of \(report.source) match\(newer); \(checksums)")
            }
            guard reports.allSatisfy(\.isComplete) else {
                Terminal.error("rows differ: the source changed during the copy; run it again")
                throw ExitCode.failure
            }
            Terminal.line("copy complete: every source row is in the destination")
        }

        static func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }
}
