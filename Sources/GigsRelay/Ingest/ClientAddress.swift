import Foundation
import HTTPTypes
import NIOCore

/// Who sent a request: the peer's address, or, when the peer is a trusted proxy (`server.trusted_proxies`),
/// the nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
///
/// Only the entries a trusted proxy appended are believed: walking from the right, the first untrusted
/// address is the client, so a client cannot choose its own address by sending the header itself.
struct ClientAddress {
    let trustedProxies: [IPNetwork]

    func resolve(peer: SocketAddress?, headers: HTTPFields) -> String {
        let peerAddress = Self.address(of: peer)
        guard isTrustedPeer(peerAddress) else { return peerAddress }
        let forwarded = headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for entry in forwarded.reversed() where !entry.isEmpty {
            guard IPNetwork.bytes(of: entry) != nil else { return peerAddress }
            if !isTrusted(entry) { return entry }
        }
        return peerAddress
    }

    /// Whether the request came over TLS: `X-Forwarded-Proto: https` from a trusted proxy (the daemon
    /// itself serves plain HTTP).
    func isSecure(peer: SocketAddress?, headers: HTTPFields) -> Bool {
        isTrustedPeer(Self.address(of: peer)) && headers[.xForwardedProto]?.lowercased() == "https"
    }

    /// The peer's IP address, `unix` for a Unix socket.
    private static func address(of peer: SocketAddress?) -> String {
        peer?.ipAddress ?? (peer?.pathname.map { _ in "unix" } ?? "unknown")
    }

    /// Whether the peer is a trusted proxy (on a Unix socket: whenever any proxy is trusted).
    private func isTrustedPeer(_ address: String) -> Bool {
        isTrusted(address) || (address == "unix" && !trustedProxies.isEmpty)
    }

    private func isTrusted(_ address: String) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
}
