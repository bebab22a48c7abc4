import ArgumentParser
import GigsRelay

/// `gigs-relay health`: probes a running daemon's readiness for monitoring scripts.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask a running daemon's /readyz whether it is ready.",
        discussion: """
            Without --url, asks the listener the configuration names (admin.listen, else server.listen).
            Prints the answer (with the reasons when not ready). Exit codes: 0 ready; 1 not ready or unreachable.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(
        help:
            "The readiness URL, e.g. http://127.0.0.1:8080/readyz (http+unix://%2Frun%2Fgigs-relay%2Fadmin.sock/readyz for a socket)."
    )
    var url: String?

    @Option(help: "Seconds to wait for the answer.")
    var timeout = 5

    func run() async throws {
        let target = try url ?? HealthProbe.readinessURL(for: options.load())
        let result = await HealthProbe.check(url: target, timeout: .seconds(timeout))
        Terminal.line(result.text)
        if !result.isReady { throw ExitCode.failure }
    }
}
