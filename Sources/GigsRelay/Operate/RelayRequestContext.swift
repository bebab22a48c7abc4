import Hummingbird
import NIOCore

/// The request context of gigs-relay's endpoints: Hummingbird's basics plus the peer's address, from
/// which ``ClientAddress`` works out who the client is.
public struct RelayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's peer (nginx, when behind a proxy); nil in in-process tests.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
