import CRelayOpenSSL

/// HMAC-SHA256 and constant-time comparison from the system's OpenSSL libcrypto.
package enum HMACSHA256 {
    /// Length of a MAC in bytes.
    package static let byteCount = 32

    /// The MAC of `message` under `key`.
    package static func authenticationCode(key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: byteCount)
        let ok = key.withUnsafeBufferPointer { key in
            mac.withUnsafeMutableBufferPointer { out in
                relay_hmac_sha256(
                    key.baseAddress,
                    key.count,
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    message.count,
                    out.baseAddress
                )
            }
        }
        precondition(ok == 1, "OpenSSL HMAC-SHA256 failed")
        return mac
    }

    /// The MAC of a text message.
    package static func code(key: [UInt8], message: String) -> [UInt8] {
        Array(message.utf8).withUnsafeBytes { authenticationCode(key: key, message: $0) }
    }

    /// Whether two MACs are equal, in time that does not depend on where they differ.
    package static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { lhs in
            rhs.withUnsafeBytes { rhs in
                relay_memcmp(lhs.baseAddress, rhs.baseAddress, lhs.count) == 0
            }
        }
    }
}
