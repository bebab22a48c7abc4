import ArgumentParser
import GigsRelay

/// The `gigs-relay` executable: parses arguments and hands over to the GigsRelay library.
@main
struct GigsRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gigs-relay",
        abstract: "Receives Gigs webhooks, verifies them, and stores every event durably and exactly once.",
        discussion: """
            Exit codes: 0 success; 1 runtime failure (store cannot open, event not found, …);
            2 nothing matched (deliveries, replay); 64 usage error; 78 configuration error (EX_CONFIG).
            The configuration file is --config, else $GIGS_RELAY_CONFIG, else /etc/gigs-relay/gigs-relay.toml.
            """,
        version: RelayVersion.current,
        subcommands: [
            ServeCommand.self, EventsCommand.self, DeliveriesCommand.self, ReplayCommand.self, HealthCommand.self,
            ConfigCommand.self, SendCommand.self, PruneCommand.self, StoreCommand.self, ActionsCommand.self,
            ReconcileCommand.self, EraseCommand.self,
        ]
    )
}
