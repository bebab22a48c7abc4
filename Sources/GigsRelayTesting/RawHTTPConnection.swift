import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain blocking TCP connection for sending hand-made (and hostile) HTTP requests.
public final class RawHTTPConnection {
    private let descriptor: Int32

    /// Connects to `HOST:PORT` (IPv4).
    public init(address: String, receiveTimeout: Duration = .seconds(10)) throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw RelayProcess.Failure(description: "bad address \(address)")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        inet_pton(AF_INET, String(parts[0]), &socketAddress.sin_addr)
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw RelayProcess.Failure(description: "connect to \(address) failed")
        }
        let seconds = receiveTimeout.components.seconds
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Sends bytes; returns false once the peer has closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Whether the peer has answered or closed (without reading what arrived, and without waiting).
    public var hasAnswered: Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return count > 0 || count == 0
    }

    /// Reads until the end of a response head (or the peer closes, or the receive timeout passes);
    /// returns what arrived.
    public func readResponseHead() -> String {
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while !data.ends(with: Array("\r\n\r\n".utf8)), recv(descriptor, &byte, 1, 0) == 1 {
            data.append(byte)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads until the peer closes the connection or the receive timeout passes; returns what arrived.
    public func readUntilClosed() -> (text: String, closed: Bool) {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return (String(decoding: data, as: UTF8.self), true) }
            if count < 0 { return (String(decoding: data, as: UTF8.self), errno == ECONNRESET) }
            data.append(contentsOf: buffer[0..<count])
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
