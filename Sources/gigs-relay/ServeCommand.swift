import ArgumentParser
import Foundation
import GigsRelay
import Logging
import ServiceLifecycle

/// `gigs-relay serve`: runs the daemon until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the webhook receiver until SIGTERM or SIGINT.",
        discussion: "Logs go to standard error. Under systemd (Type=notify) it reports READY=1 once listening."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        MemoryTuning.apply()
        BrokenPipes.ignore()
        let configuration = try options.load()
        let log = configuration.log
        let journal = RelayLogHandler.isJournal
        LoggingSystem.bootstrap { label in
            RelayLogHandler(label: label, level: log.level, format: log.format, journal: journal)
        }
        let logger = Logger(label: "gigs-relay")
        logger.info("Configuration loaded", metadata: [LogKey.configPath: "\(options.path)"])

        let daemon: ServiceGroup
        do {
            daemon = try await buildDaemon(
                configuration: configuration,
                configurationPath: options.path,
                environment: ProcessInfo.processInfo.environment,
                logger: logger
            )
        } catch let error as ConfigurationError {
            logger.critical("Configuration error", metadata: [LogKey.error: "\(error)"])
            throw ExitCode(ConfigOptions.configurationErrorExitCode)
        } catch let error as StoreError where error.isConfigurationError {
            logger.critical("Configuration error", metadata: [LogKey.error: "\(error.detail)"])
            throw ExitCode(ConfigOptions.configurationErrorExitCode)
        } catch {
            logger.critical("Cannot start", metadata: [LogKey.error: "\(error)"])
            throw ExitCode.failure
        }
        do {
            try await daemon.run()
        } catch {
            logger.critical("Stopped on error", metadata: [LogKey.error: "\(error)"])
            throw ExitCode.failure
        }
        logger.info("Stopped")
    }
}
