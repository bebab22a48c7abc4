import Foundation

/// One mailbox: an address with an optional display name, as in `Example <noreply@example.com>`.
///
/// Only plain ASCII addresses without comments or quoted local parts are accepted, and nothing that
/// could break out of a header line (CR, LF) gets through, so an address taken from an event or the
/// Gigs API cannot inject headers or SMTP commands.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// `local@domain`.
    public let address: String
    /// The human-readable name, if any.
    public let displayName: String?

    /// Accepts `local@domain` or `Display Name <local@domain>`; nil for anything else.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            var name = String(trimmed[..<open]).trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                name = String(name.dropFirst().dropLast())
            }
            let inner = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            self.init(address: inner, displayName: name.isEmpty ? nil : name)
        } else {
            self.init(address: trimmed, displayName: nil)
        }
    }

    /// Nil when `address` is not a plain `local@domain` address or the name holds control characters.
    public init?(address: String, displayName: String?) {
        guard Self.isValidAddress(address) else { return nil }
        if let displayName, displayName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return nil
        }
        self.address = address
        self.displayName = displayName
    }

    /// `local@domain` of printable ASCII without spaces, angle brackets or quotes; at most 254 bytes.
    static func isValidAddress(_ address: String) -> Bool {
        let forbidden = Set("<>()[]\\,;:\"@ ".unicodeScalars)
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard address.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return parts.allSatisfy { part in
            part.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 && !forbidden.contains($0) }
        }
    }

    /// The mailbox as a header value: the name quoted, or encoded (RFC 2047) when not ASCII.
    var headerValue: String {
        guard let displayName else { return "<\(address)>" }
        return "\(MailHeader.phrase(displayName)) <\(address)>"
    }

    public var description: String {
        displayName.map { "\($0) <\(address)>" } ?? address
    }
}
