import ArgumentParser
import AsyncHTTPClient
import Foundation
import GigsRelay

/// `gigs-relay config`: configuration tools.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file.",
        subcommands: [Check.self]
    )

    /// `gigs-relay config check`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a configuration as `serve` would, and print it with every default filled in.",
            discussion: """
                Reads every secret reference and every template, as start-up and reload do; prints secrets
                only as their references. Exit codes: 0 valid; 1 invalid (the key at fault on standard error).
                """
        )

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let configuration: RelayConfiguration
            do {
                configuration = try RelayConfiguration.load(path: options.path)
                let environment = ProcessInfo.processInfo.environment
                _ = try LiveSettings.make(configuration, environment: environment, client: HTTPClient.shared)
                _ = try configuration.store.password?.resolve(key: "store.password", environment: environment)
                _ = try configuration.admin.token?.resolve(key: "admin.token", environment: environment)
            } catch {
                Terminal.error("configuration error in \(options.path): \(error)")
                throw ExitCode.failure
            }
            let store = StoreLocation(configuration.store)
            Terminal.line("# \(options.path): valid")
            Terminal.line("# store: \(store.backend) (\(store))")
            Terminal.line(configuration.effectiveTOML)
        }
    }
}
