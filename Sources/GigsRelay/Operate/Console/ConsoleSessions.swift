import NIOConcurrencyHelpers

/// The console's sign-in sessions: signed cookies, so every instance that has the same `admin.token`
/// accepts them and a restart keeps operators signed in.
///
/// A session cookie is `ID.EXPIRES.MAC`: a random id, its end (Unix seconds) and an HMAC-SHA256 of both
/// under a key derived from the token. Its CSRF token is another HMAC of the id, so a form is only valid
/// for the session that rendered it. Signing out revokes the id on this instance until it would have
/// expired anyway. Nothing here holds or logs the token itself.
final class ConsoleSessions: Sendable {
    /// The session cookie's name.
    static let cookie = "gigs_relay_session"
    /// The sign-in form's cookie: a nonce the form must repeat (login CSRF).
    static let signInCookie = "gigs_relay_sign_in"
    /// How long a session lasts after sign-in.
    static let lifetimeSeconds: Int64 = 12 * 3600
    /// Most revoked ids remembered; the oldest are forgotten first (they expire first).
    static let maximumRevoked = 10_000

    struct Session: Sendable, Equatable {
        /// The random id: the "who" of the audit log.
        let id: String
        /// The end of the session, Unix seconds.
        let expires: Int64
    }

    private let token: [UInt8]
    private let key: [UInt8]
    private let revoked = NIOLockedValueBox<[String: Int64]>([:])

    init(token: String) {
        self.token = Array(token.utf8)
        key = HMACSHA256.code(key: Array(token.utf8), message: "gigs-relay console sessions v1")
    }

    /// Whether `given` is the token, compared in constant time.
    func isToken(_ given: String) -> Bool {
        let bytes = Array(given.utf8)
        return bytes.count == token.count && HMACSHA256.constantTimeEquals(bytes, token)
    }

    /// A new session and its cookie value.
    func start(now: Int64) -> (session: Session, cookie: String) {
        let session = Session(id: Self.randomHex(16), expires: now + Self.lifetimeSeconds)
        let signed = "\(session.id).\(session.expires)"
        return (session, "\(signed).\(mac("session:\(signed)"))")
    }

    /// The session a cookie value names, if it is signed by this token, unexpired and not signed out.
    func session(cookie value: String, now: Int64) -> Session? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 32, let expires = Int64(parts[1]), expires > now,
            matches(String(parts[2]), "session:\(parts[0]).\(parts[1])")
        else { return nil }
        let id = String(parts[0])
        guard revoked.withLockedValue({ $0[id] == nil }) else { return nil }
        return Session(id: id, expires: expires)
    }

    /// The CSRF token of a session's forms.
    func csrfToken(for session: Session) -> String {
        mac("csrf:\(session.id)")
    }

    /// Whether `given` is the CSRF token of `session`.
    func isCSRFToken(_ given: String?, for session: Session) -> Bool {
        guard let given else { return false }
        return matches(given, "csrf:\(session.id)")
    }

    /// Signs a session out on this instance.
    func revoke(_ session: Session, now: Int64) {
        revoked.withLockedValue { revoked in
            if revoked.count >= Self.maximumRevoked {
                revoked = revoked.filter { $0.value > now }
                for (id, _) in revoked.sorted(by: { $0.value < $1.value }).prefix(
                    max(revoked.count - Self.maximumRevoked / 2, 0))
                {
                    revoked[id] = nil
                }
            }
            revoked[session.id] = session.expires
        }
    }

    /// A fresh nonce for the sign-in form.
    func signInNonce() -> String { Self.randomHex(16) }

    private func mac(_ message: String) -> String {
        HMACSHA256.code(key: key, message: message).lowercaseHex
    }

    private func matches(_ given: String, _ message: String) -> Bool {
        let expected = Array(mac(message).utf8)
        let bytes = Array(given.utf8)
        return bytes.count == expected.count && HMACSHA256.constantTimeEquals(bytes, expected)
    }

    static func randomHex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.lowercaseHex
    }

}
