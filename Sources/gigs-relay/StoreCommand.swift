import ArgumentParser
import Foundation
import GigsRelay
import Logging

/// `gigs-relay store`: whole-store tools.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Copy a whole store between SQLite and PostgreSQL.",
        subcommands: [Copy.self]
    )

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
