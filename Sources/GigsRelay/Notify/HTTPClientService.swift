import AsyncHTTPClient
import NIOCore
import ServiceLifecycle

/// Owns the outgoing HTTP client: it lives until shutdown, after the dispatcher has stopped using it.
struct HTTPClientService: Service {
    let client: HTTPClient

    /// A client that never follows redirects (a 3xx is a failed delivery, as Gigs treats it), with as
    /// many connections per host as there are workers.
    static func makeClient(connectionsPerHost: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        // A refused connection is a failed attempt (retried with backoff), not a reason to spin until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
