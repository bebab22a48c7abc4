import Synchronization

/// The request body bytes all requests together may hold at once (`server.max_body_bytes_in_flight`).
///
/// Without it, `server.max_connections` slow uploads of `server.max_body_bytes` each could take their
/// product in memory. A request reserves its declared length (or the largest body, when it declares
/// none) before reading its body and gives it back once the event is stored or refused; a request that
/// does not fit is answered 503 with `Retry-After` and its body is never read. One atomic add and one
/// subtract per request.
final class BodyBudget: Sendable {
    private let limit: Int
    private let used = Atomic(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves `bytes` (clamped at zero); false, reserving nothing, when that would pass the limit.
    func reserve(_ bytes: Int) -> Bool {
        let bytes = max(bytes, 0)
        let (_, total) = used.add(bytes, ordering: .relaxed)
        guard total <= limit else {
            used.subtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back what ``reserve(_:)`` took.
    func release(_ bytes: Int) {
        used.subtract(max(bytes, 0), ordering: .relaxed)
    }

    /// Bytes reserved now.
    var inFlight: Int { used.load(ordering: .relaxed) }
}
