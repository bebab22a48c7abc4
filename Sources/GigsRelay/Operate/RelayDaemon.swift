import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    // The release build finds stat and timespec through Dispatch's C module.
    import CDispatch
    import Glibc
#endif

/// Builds the HTTP application: the webhook endpoint, and `/healthz`, `/readyz` and `/metrics` unless
/// `admin.listen` moves those to their own listener (``buildAdminApplication(configuration:observability:logger:)``).
///
/// - Parameter onServerRunning: called with the bound address (`HOST:PORT` or `unix:PATH`) once listening.
public func buildApplication(
    configuration: RelayConfiguration,
    verifier: SignatureVerifier,
    store: any EventLog,
    live: LiveSettings? = nil,
    observability: Observability? = nil,
    logger: Logger,
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let observability = observability ?? Observability(store: store, configuration: configuration, logger: logger)
    let live =
        live
        ?? LiveSettings(
            .init(verifier: verifier, routes: configuration.routes, actions: [:], settings: configuration.actions))
    return Application(
        router: buildRouter(configuration: configuration, store: store, live: live, observability: observability),
        server: .http1(configuration: httpConfiguration(configuration)),
        configuration: ApplicationConfiguration(
            address: bindAddress(configuration.server.listen),
            availableConnectionsDelegate: MaximumAvailableConnections(
                configuration.server.maxConnections, logger: logger)
        ),
        onServerRunning: { channel in
            await onServerRunning(describe(channel.localAddress))
        },
        logger: logger
    )
}

/// The router of the main listener: metrics middleware, the admin endpoints (unless `admin.listen` is
/// set) and the webhook endpoint.
func buildRouter(
    configuration: RelayConfiguration,
    store: any EventLog,
    live: LiveSettings,
    observability: Observability
) -> Router<RelayRequestContext> {
    let router = Router(context: RelayRequestContext.self)
    var routes = [configuration.webhook.path: MetricsMiddleware<RelayRequestContext>.webhookRoute]
    let servesAdmin = configuration.admin.listen == nil
    if servesAdmin { routes.merge(AdminEndpoints.routes) { current, _ in current } }
    router.add(middleware: MetricsMiddleware(metrics: observability.metrics, routes: routes))
    if servesAdmin { AdminEndpoints.add(to: router, observability: observability) }
    WebhookController(
        live: live,
        store: store,
        maxBodyBytes: configuration.server.maxBodyBytes,
        rejectionLog: LogThrottle(),
        metrics: observability.metrics,
        clients: ClientAddress(trustedProxies: configuration.server.trustedProxies),
        limiter: FailedVerificationLimiter(
            limit: configuration.server.maxFailedVerifications,
            windowSeconds: configuration.server.failedVerificationWindowSeconds),
        bodyBudget: BodyBudget(limit: configuration.server.maxBodyBytesInFlight),
        tracing: observability.tracing,
        path: configuration.webhook.path
    )
    .addRoutes(to: router, path: configuration.webhook.path)
    return router
}

/// HTTP/1.1 settings of the main listener: idle timeout, and the handlers that close after a 413 and
/// enforce the header and body deadlines.
func httpConfiguration(_ configuration: RelayConfiguration) -> HTTP1Channel.Configuration {
    let server = configuration.server
    return HTTP1Channel.Configuration(
        additionalChannelHandlers: [
            ConnectionCloseHandler(),
            RequestTimeoutHandler(
                headerTimeout: .seconds(Int64(server.headerTimeoutSeconds)),
                bodyTimeout: .seconds(Int64(server.bodyTimeoutSeconds)),
                idleTimeout: .seconds(Int64(server.idleTimeoutSeconds))),
        ],
        idleTimeout: .seconds(Int64(server.idleTimeoutSeconds))
    )
}

/// The `admin.listen` application: `/healthz`, `/readyz`, `/metrics`, the operator API and the console.
public func buildAdminApplication(
    configuration: RelayConfiguration,
    observability: Observability,
    logger: Logger,
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: RelayRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: observability.metrics, routes: AdminEndpoints.routes))
    AdminEndpoints.add(to: router, observability: observability)
    return Application(
        router: router,
        configuration: ApplicationConfiguration(
            address: bindAddress(configuration.admin.listen ?? configuration.server.listen)),
        onServerRunning: { channel in
            await onServerRunning(describe(channel.localAddress))
        },
        logger: logger
    )
}

private func bindAddress(_ listen: ListenAddress) -> BindAddress {
    switch listen {
    case .tcp(let host, let port): .hostname(host, port: port)
    case .unix(let path): .unixDomainSocket(path: path)
    }
}

/// Wires the whole daemon: resolves secrets, opens and migrates the store, builds the HTTP
/// application, and returns the group that runs them until SIGTERM or SIGINT.
///
/// Shutdown runs in reverse order: systemd hears `STOPPING=1`, the server stops accepting and finishes
/// in-flight requests, the dispatcher lets running attempts finish (or releases them), the HTTP client
/// closes, then the store commits what is queued and closes.
///
/// - Parameters:
///   - environment: the process environment, for `env:` and `credential:` secret references.
///   - clock: the one clock ingest, the store, the dispatcher, retention and the operator API read.
public func buildDaemon(
    configuration: RelayConfiguration,
    configurationPath: String? = nil,
    environment: [String: String],
    clock: any RelayClock = SystemClock(),
    logger: Logger
) async throws -> ServiceGroup {
    // Socket activation: systemd passed the listening socket; server.listen is not bound then.
    let activatedSockets = SystemdNotifier.listenDescriptors()
    let handOff = DeliveryHandOff()
    let notifier = SystemdNotifier()
    // PRAGMA quick_check reads the whole store (measured: 0.7 s warm, 6.6 s from a cold cache for a 366 MB
    // store), and migrations may follow: give them time beyond systemd's start timeout.
    notifier.notify("STATUS=Checking and migrating the event store", "EXTEND_TIMEOUT_USEC=600000000")
    let client = HTTPClientService.makeClient(connectionsPerHost: configuration.dispatch.workers)
    let live: LiveSettings
    let opened: OpenedStore
    let sealer: PayloadSealer
    let location = StoreLocation(configuration.store)
    do {
        live = LiveSettings(
            try LiveSettings.make(configuration, environment: environment, client: client, clock: clock))
        if activatedSockets.isEmpty, case .unix(let path) = configuration.server.listen {
            try removeStaleSocket(at: path)
        }
        sealer = try PayloadSealer(configuration.store, environment: environment)
        opened = try await location.open(
            environment: environment, clock: clock, logger: logger, handOff: handOff, sealer: sealer)
    } catch {
        // Nothing runs yet: the client must still be shut down, or its deinit traps.
        try? await client.shutdown()
        throw error
    }
    logger.info(
        "Event store open",
        metadata: [
            LogKey.storeBackend: "\(location.backend)", LogKey.storePath: "\(location)",
            LogKey.secretCount: "\(configuration.webhook.secrets.count)",
        ]
    )
    let store = opened.log
    let status = StatusLine()
    var observability = Observability(store: store, configuration: configuration, live: live, logger: logger) {
        stats in
        if let line = status.update(stats) { notifier.notify("STATUS=\(line)") }
    }
    let tracingService: (any Service)?
    do {
        let token = try configuration.admin.token.map { reference throws(ConfigurationError) in
            try reference.resolve(key: "admin.token", environment: environment)
        }
        (observability.tracing, tracingService) = try RelayTracing.make(
            configuration.tracing, environment: environment, metrics: observability.metrics, logger: logger)
        observability.operatorAPI = OperatorAPI(
            console: opened.console, live: live, token: token, redact: configuration.admin.redact,
            trustedProxies: configuration.server.trustedProxies, clock: clock, logger: logger)
    } catch {
        await opened.close()
        try? await client.shutdown()
        throw error
    }
    let onServerRunning: @Sendable (String) async -> Void = { address in
        logger.notice("Listening", metadata: [LogKey.listenAddress: "\(address)"])
        notifier.notify("READY=1", "STATUS=\(status.listening(on: address))")
    }
    let application: any Service
    if let descriptor = activatedSockets.first {
        logger.info("Serving on the socket systemd passed", metadata: ["relay.listen.fd": "\(descriptor)"])
        application = ActivatedServer(
            descriptor: descriptor,
            responder: buildRouter(
                configuration: configuration, store: store, live: live, observability: observability
            ).buildResponder(),
            http: httpConfiguration(configuration),
            maxConnections: configuration.server.maxConnections,
            logger: logger,
            onServerRunning: onServerRunning
        )
    } else {
        application = buildApplication(
            configuration: configuration,
            verifier: live.snapshot.verifier,
            store: store,
            live: live,
            observability: observability,
            logger: logger,
            onServerRunning: onServerRunning
        )
    }
    // First, so that it stops last: the final attempts' spans are still sent.
    var services: [any Service] = tracingService.map { [$0] } ?? []
    services += [
        StoreService(store: opened),
        HTTPClientService(client: client),
        Dispatcher(
            store: store, live: live, configuration: configuration, handOff: handOff,
            heartbeat: observability.dispatcher, metrics: observability.metrics, tracing: observability.tracing,
            clock: clock, sealer: sealer, logger: logger),
        observability.monitor,
        application,
    ]
    if configuration.store.retentionDays > 0 {
        services.append(
            RetentionService(
                store: store, retentionDays: configuration.store.retentionDays, clock: clock, logger: logger))
    }
    if configuration.privacy.eraseOnUserDeleted {
        services.append(ErasureService(console: opened.console, logger: logger))
    }
    if let reconcile = configuration.reconcile {
        services.append(
            ReconcileService(
                configuration: reconcile, console: opened.console, live: live, metrics: observability.metrics,
                clock: clock, logger: logger))
    }
    if configuration.admin.listen != nil {
        services.append(
            buildAdminApplication(configuration: configuration, observability: observability, logger: logger) {
                address in
                logger.notice("Admin endpoints listening", metadata: [LogKey.adminAddress: "\(address)"])
            })
    }
    if let watchdog = notifier.watchdogInterval {
        logger.info("systemd watchdog enabled", metadata: ["relay.watchdog.interval": "\(watchdog)"])
        let monitor = observability.monitor
        let eventLoops = EventLoopProbe(group: MultiThreadedEventLoopGroup.singleton)
        services.append(
            WatchdogService(
                interval: watchdog / 2,
                checks: {
                    let now = unixMilliseconds()
                    return monitor.livenessProblems(now: now) + eventLoops.check(now: now)
                },
                ping: { notifier.notify("WATCHDOG=1") },
                logger: logger
            ))
    }
    if let configurationPath {
        services.append(
            ReloadService(
                path: configurationPath, started: configuration, live: live, environment: environment, client: client,
                clock: clock, notifier: notifier, status: status, logger: logger))
    }
    services.append(ShutdownNotifierService(notifier: notifier))
    return ServiceGroup(
        configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}

/// `HOST:PORT` or `unix:PATH` of a bound socket.
func describe(_ address: SocketAddress?) -> String {
    guard let address else { return "unknown" }
    switch address {
    case .unixDomainSocket: return "unix:\(address.pathname ?? "")"
    case .v6: return "[\(address.ipAddress ?? "")]:\(address.port ?? 0)"
    case .v4: return "\(address.ipAddress ?? ""):\(address.port ?? 0)"
    }
}

/// Removes a Unix socket left by an earlier run; refuses to remove anything that is not a socket.
private func removeStaleSocket(at path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    guard (info.st_mode & S_IFMT) == S_IFSOCK else {
        throw ConfigurationError(key: "server.listen", "\(path) exists and is not a socket")
    }
    unlink(path)
}
