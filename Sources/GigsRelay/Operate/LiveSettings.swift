import AsyncHTTPClient
import NIOConcurrencyHelpers

/// The parts of the configuration that a reload (SIGHUP) replaces, swapped together in one step: the
/// webhook secrets and tolerance, the routes, and the actions with their settings.
///
/// The webhook endpoint and the dispatcher read the current snapshot for every request and every
/// attempt, so a reload applies to the next of each; an attempt already running finishes with the
/// action it started with.
public final class LiveSettings: Sendable {
    public struct Snapshot: Sendable {
        public let verifier: SignatureVerifier
        public let routes: [RouteConfiguration]
        public let actions: [String: any DeliveryAction]
        public let settings: [String: ActionConfiguration]
        /// The Gigs API client (`[gigs]`), shared by the install-links actions and reconciliation; nil
        /// without the section.
        public let gigsAPI: GigsAPIClient?

        public init(
            verifier: SignatureVerifier,
            routes: [RouteConfiguration],
            actions: [String: any DeliveryAction],
            settings: [String: ActionConfiguration],
            gigsAPI: GigsAPIClient? = nil
        ) {
            self.verifier = verifier
            self.routes = routes
            self.actions = actions
            self.settings = settings
            self.gigsAPI = gigsAPI
        }
    }

    private let current: NIOLockedValueBox<Snapshot>

    public init(_ snapshot: Snapshot) {
        self.current = NIOLockedValueBox(snapshot)
    }

    /// What is in effect now.
    public var snapshot: Snapshot { current.withLockedValue { $0 } }

    /// Puts `snapshot` in effect.
    func replace(with snapshot: Snapshot) {
        current.withLockedValue { $0 = snapshot }
    }

    /// Resolves every secret and builds every action of `configuration`: anything wrong is a
    /// ``ConfigurationError`` naming its key, and nothing is put in effect.
    ///
    /// - Parameters:
    ///   - environment: the process environment, for `env:` and `credential:` references.
    ///   - clock: where the verifier reads the time of receipt.
    public static func make(
        _ configuration: RelayConfiguration,
        environment: [String: String],
        client: HTTPClient,
        clock: any RelayClock = SystemClock()
    ) throws(ConfigurationError) -> Snapshot {
        let secrets = try configuration.resolveWebhookSecrets(environment: environment)
        var api: GigsAPIClient?
        if let gigs = configuration.gigs {
            let token = try gigs.token.resolve(key: "gigs.token", environment: environment)
            api = GigsAPIClient(configuration: gigs, token: Credential(token), client: client)
        }
        return Snapshot(
            verifier: SignatureVerifier(
                secrets: secrets, toleranceSeconds: configuration.webhook.toleranceSeconds, clock: clock),
            routes: configuration.routes,
            actions: try ActionKinds.makeActions(configuration, environment: environment, client: client, api: api),
            settings: configuration.actions,
            gigsAPI: api
        )
    }
}
