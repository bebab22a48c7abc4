import CRelayOpenSSL
import Foundation

/// Seals what the store holds that can carry personal data: event bodies, and the errors and outputs of
/// attempts (`[store] encryption_key`).
///
/// AES-256-GCM through OpenSSL's EVP interface. A sealed body is `00 01`, the 4-byte key id, a random
/// 12-byte nonce, the ciphertext and the 16-byte tag; the row's id is the additional data, so a sealed
/// value opens only in the row it was written to. A JSON body never starts with a zero byte, so sealed
/// and plaintext rows tell themselves apart and a store can hold both (`gigs-relay store encrypt` seals
/// the older ones). Text columns hold the same bytes in base64 after ``textPrefix``. Ids, types,
/// subjects, times and statuses are never sealed: every index, filter and listing keeps working.
public struct PayloadSealer: Sendable {
    /// The row a sealed value belongs to: its additional authenticated data.
    package enum Row: Sendable {
        /// An event's body.
        case event(EventID)
        /// A delivery's attempt errors and outputs.
        case delivery(DeliveryID)

        var associatedData: [UInt8] {
            switch self {
            case .event(let id): Array("gigs-relay/event/\(id.rawValue)".utf8)
            case .delivery(let id): Array("gigs-relay/delivery/\(id.rawValue)".utf8)
            }
        }
    }

    /// A store that seals nothing; it still opens nothing sealed (a sealed row is refused at open).
    public static let plaintext = PayloadSealer(current: nil, previous: [])

    /// The key new values are sealed with; nil when the store is not encrypted.
    public let current: StoreKey?
    /// Every key this sealer opens with, the current one first.
    public let keys: [StoreKey]

    public init(current: StoreKey?, previous: [StoreKey]) {
        self.current = current
        var keys = current.map { [$0] } ?? []
        for key in previous where !keys.contains(where: { $0.id == key.id }) { keys.append(key) }
        self.keys = keys
    }

    /// The keys `[store]` names, read from their secret references.
    public init(_ store: RelayConfiguration.Store, environment: [String: String]) throws(ConfigurationError) {
        let current = try store.encryptionKey.map { (reference) throws(ConfigurationError) in
            try StoreKey(reference: reference, key: "store.encryption_key", environment: environment)
        }
        let previous = try store.previousEncryptionKeys.enumerated().map {
            (index, reference) throws(ConfigurationError) in
            try StoreKey(
                reference: reference, key: "store.previous_encryption_keys[\(index)]", environment: environment)
        }
        self.init(current: current, previous: previous)
    }

    /// Whether new values are sealed.
    public var isSealing: Bool { current != nil }

    /// The ids of the keys it opens with, the current one first.
    public var keyIDs: [String] { keys.map(\.id) }

    // MARK: Bodies

    /// The first two bytes of a sealed value: a zero (never the first byte of JSON text) and the format.
    private static let header: [UInt8] = [0x00, 0x01]
    private static let keyIDBytes = 4
    private static let nonceBytes = 12
    private static let tagBytes = 16
    /// What sealing adds to a value's length.
    static let overhead = header.count + keyIDBytes + nonceBytes + tagBytes

    /// `bytes` sealed with the current key for `row`; unchanged when the store is not encrypted.
    package func seal(_ bytes: [UInt8], for row: Row) -> [UInt8] {
        guard let current else { return bytes }
        return Self.seal(bytes, with: current, for: row)
    }

    /// `bytes` sealed with `key` for `row`.
    package static func seal(_ bytes: [UInt8], with key: StoreKey, for row: Row) -> [UInt8] {
        let offset = header.count + keyIDBytes + nonceBytes
        var sealed = [UInt8](repeating: 0, count: bytes.count + overhead)
        sealed.replaceSubrange(0..<header.count, with: header)
        sealed.replaceSubrange(header.count..<header.count + keyIDBytes, with: key.idBytes)
        let aad = row.associatedData
        let ok = sealed.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            guard relay_random_bytes(base + header.count + keyIDBytes, nonceBytes) == 1 else { return false }
            return key.bytes.withUnsafeBufferPointer { keyBytes in
                aad.withUnsafeBufferPointer { aad in
                    bytes.withUnsafeBufferPointer { input in
                        relay_aes256gcm_seal(
                            AESGCM.cipher, keyBytes.baseAddress, base + header.count + keyIDBytes, aad.baseAddress,
                            aad.count, input.baseAddress, input.count, base + offset, base + offset + bytes.count)
                            == 1
                    }
                }
            }
        }
        // Encryption into a buffer of the right size fails only when libcrypto itself is broken.
        precondition(ok, "OpenSSL AES-256-GCM encryption failed")
        return sealed
    }

    /// Whether `stored` is a sealed value rather than plaintext.
    package static func isSealed(_ stored: [UInt8]) -> Bool {
        stored.count >= overhead && stored[0] == header[0] && stored[1] == header[1]
    }

    /// The id of the key `stored` was sealed with; nil for plaintext.
    package static func keyID(of stored: [UInt8]) -> String? {
        guard isSealed(stored) else { return nil }
        return stored[header.count..<header.count + keyIDBytes].lowercaseHex
    }

    /// The plaintext of a stored value of `row`: opened when sealed, as stored when not.
    package func open(_ stored: [UInt8], for row: Row) throws(SealError) -> [UInt8] {
        guard let keyID = Self.keyID(of: stored) else { return stored }
        guard let key = keys.first(where: { $0.id == keyID }) else { throw .missingKey(keyID) }
        let offset = Self.header.count + Self.keyIDBytes + Self.nonceBytes
        let length = stored.count - Self.overhead
        var plain = [UInt8](repeating: 0, count: length)
        let aad = row.associatedData
        let ok = stored.withUnsafeBufferPointer { input in
            let base = input.baseAddress!
            return key.bytes.withUnsafeBufferPointer { keyBytes in
                aad.withUnsafeBufferPointer { aad in
                    plain.withUnsafeMutableBufferPointer { out in
                        relay_aes256gcm_open(
                            AESGCM.cipher, keyBytes.baseAddress, base + Self.header.count + Self.keyIDBytes,
                            aad.baseAddress, aad.count, base + offset, length, base + offset + length,
                            out.baseAddress) == 1
                    }
                }
            }
        }
        guard ok else { throw .altered(keyID) }
        return plain
    }

    /// The body of event `id` as stored, opened; a read error naming the event when it does not open.
    package func openBody(_ stored: [UInt8], of id: EventID) throws(StoreError) -> [UInt8] {
        do {
            return try open(stored, for: .event(id))
        } catch {
            throw StoreError.readFailed(detail: "the body of event \(id) is \(error)")
        }
    }

    /// `stored` opened, or moved to the current key (sealed again) when it was sealed with another key or
    /// not at all; nil when it already is under the current key (or the store is not encrypted).
    package func resealed(_ stored: [UInt8], for row: Row) throws(SealError) -> [UInt8]? {
        guard let current, Self.keyID(of: stored) != current.id else { return nil }
        return Self.seal(try open(stored, for: row), with: current, for: row)
    }

    // MARK: Text

    /// How a sealed text column starts; the rest is the sealed bytes in base64.
    static let textPrefix = "gigs-relay:sealed:"

    /// `text` sealed for `row`; unchanged when the store is not encrypted.
    package func seal(text: String?, for row: Row) -> String? {
        guard let text, let current else { return text }
        return Self.textPrefix + Data(Self.seal(Array(text.utf8), with: current, for: row)).base64EncodedString()
    }

    /// A stored text column of `row` opened: as stored when it is not sealed, a note naming the key id when
    /// it cannot be opened (listings show it rather than failing).
    package func open(text stored: String?, for row: Row) -> String? {
        guard let stored, let bytes = Self.sealedBytes(of: stored) else { return stored }
        do {
            return String(decoding: try open(bytes, for: row), as: UTF8.self)
        } catch {
            return "(sealed: \(error))"
        }
    }

    /// The sealed bytes of a sealed text column; nil for plaintext.
    static func sealedBytes(of text: String) -> [UInt8]? {
        guard text.hasPrefix(textPrefix),
            let data = Data(base64Encoded: String(text.dropFirst(textPrefix.count)))
        else { return nil }
        let bytes = [UInt8](data)
        return isSealed(bytes) ? bytes : nil
    }

    /// The id of the key a text column was sealed with; nil for plaintext.
    package static func keyID(ofText text: String) -> String? {
        sealedBytes(of: text).flatMap(keyID(of:))
    }

    // MARK: The store's keys

    /// Refuses a store whose rows are sealed with a key this sealer lacks (`recorded`: the key ids the
    /// store lists as used). Wrong keys have other ids, so a wrong key is named, never taken for
    /// corruption.
    package func check(recorded: [String]) throws(StoreError) {
        let missing = recorded.filter { !keyIDs.contains($0) }
        guard let first = missing.first else { return }
        let configured =
            keyIDs.isEmpty ? "no key is configured" : "the configured keys have ids \(keyIDs.joined(separator: ", "))"
        let others = missing.count > 1 ? " (and \(missing.dropFirst().joined(separator: ", ")))" : ""
        throw StoreError.keyMissing(
            detail: "the store holds rows sealed with key id \(first)\(others), and \(configured): configure that key "
                + "as store.encryption_key or in store.previous_encryption_keys; nothing was written")
    }
}

/// A 32-byte AES-256 key and its id (the first 4 bytes of its HMAC-SHA256 of a fixed label, in hex):
/// the id names the key in sealed values, errors and `config check` without revealing it.
public struct StoreKey: Sendable, CustomStringConvertible {
    /// 8 hex digits.
    public let id: String
    let idBytes: [UInt8]
    package let bytes: [UInt8]

    /// A new random key.
    package static func random() -> StoreKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        precondition(relay_random_bytes(&bytes, 32) == 1, "OpenSSL has no random bytes")
        return StoreKey(bytes: bytes)!
    }

    /// A key from its 32 raw bytes.
    package init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
        self.idBytes = Array(HMACSHA256.code(key: bytes, message: "gigs-relay store key id").prefix(4))
        self.id = idBytes.lowercaseHex
    }

    /// The key a secret reference holds as base64.
    init(reference: SecretReference, key: String, environment: [String: String]) throws(ConfigurationError) {
        let text = try reference.resolve(key: key, environment: environment)
        guard let data = Data(base64Encoded: text), let parsed = StoreKey(bytes: [UInt8](data)) else {
            throw ConfigurationError(
                key: key, "\(reference) must hold 32 random bytes in base64 (openssl rand -base64 32)")
        }
        self = parsed
    }

    /// Only the id: the key never reaches a log or a message.
    public var description: String { "key \(id)" }
}

/// Why a sealed value did not open.
package enum SealError: Error, CustomStringConvertible {
    /// It was sealed with a key this store was not given.
    case missingKey(String)
    /// Its key is given, but it does not open: the stored bytes were changed or moved from another row.
    case altered(String)

    package var description: String {
        switch self {
        case .missingKey(let id): "sealed with key id \(id), which is not configured"
        case .altered(let id): "sealed with key id \(id) but does not open: the stored bytes were changed or moved"
        }
    }
}

/// OpenSSL's AES-256-GCM, fetched once.
private enum AESGCM {
    nonisolated(unsafe) static let cipher: OpaquePointer? = {
        let cipher = relay_fetch_aes256gcm()
        precondition(cipher != nil, "OpenSSL has no AES-256-GCM")
        return cipher
    }()
}
