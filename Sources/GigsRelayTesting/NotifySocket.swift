import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// A Unix datagram socket standing in for systemd's `NOTIFY_SOCKET`: it records every `sd_notify` message.
public final class NotifySocket: Sendable {
    /// The socket's path, to pass as `NOTIFY_SOCKET`.
    public let path: String
    private let descriptor: Int32
    private let received = NIOLockedValueBox<[String]>([])

    public init(path: String) throws {
        self.path = path
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw RelayProcess.Failure(description: "socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw RelayProcess.Failure(description: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw RelayProcess.Failure(description: "bind(\(path)) failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every message received so far, each with its newline-separated assignments.
    public var messages: [String] {
        drain()
        return received.withLockedValue { $0 }
    }

    /// Waits until some message contains `assignment` (such as `READY=1`).
    public func waitFor(_ assignment: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if messages.contains(where: { $0.split(separator: "\n").contains(Substring(assignment)) }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RelayProcess.Failure(description: "no \(assignment) on NOTIFY_SOCKET; got \(messages)")
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { return }
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            received.withLockedValue { $0.append(message) }
        }
    }
}
