import AsyncHTTPClient
import NIOCore
import ServiceLifecycle

/// Owns the outgoing HTTP client: it lives until shutdown, after the dispatcher has stopped using it.
struct HTTPClientService: Service {
    let client: HTTPClient

    /// A client that never follows redirects (a 3xx is a failed delivery, as Gigs treats it), with as
    /// many connections per host as there are workers.
    ///
    /// There is no read timeout: every request is already bounded by its attempt's `timeout_seconds`
    /// (a request deadline, or the dispatcher's timer), and a per-request idle timer would be scheduled
    /// and cancelled for every delivery.
    ///
    /// No tracer: the client would otherwise take the global one, which without a bootstrapped tracing
    /// system is a no-op tracer that still builds a span and its attributes (the URL parsed again) for
    /// every request, 3.5 % of the daemon's CPU while delivering.
    static func makeClient(connectionsPerHost: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10))
        // A refused connection is a failed attempt (retried with backoff), not a reason to spin until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
