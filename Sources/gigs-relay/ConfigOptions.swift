import ArgumentParser
import Foundation
import GigsRelay

/// The `--config` option shared by every subcommand.
struct ConfigOptions: ParsableArguments {
    /// Exit code for configuration errors (sysexits' EX_CONFIG).
    static let configurationErrorExitCode: Int32 = 78

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The TOML configuration file (default: $GIGS_RELAY_CONFIG, else /etc/gigs-relay/gigs-relay.toml).",
            valueName: "file"
        )
    )
    var config: String?

    /// The file in effect.
    var path: String {
        config ?? ProcessInfo.processInfo.environment["GIGS_RELAY_CONFIG"] ?? "/etc/gigs-relay/gigs-relay.toml"
    }

    /// Loads the configuration or exits 78 with the key at fault on standard error.
    func load() throws -> RelayConfiguration {
        do {
            return try RelayConfiguration.load(path: path)
        } catch {
            Terminal.error("configuration error in \(path): \(error)")
            throw ExitCode(Self.configurationErrorExitCode)
        }
    }
}
