import Foundation

/// A reconciled event: what gigs-relay stores, and routes like any other, for an event the Gigs API's
/// state implies but Gigs never delivered.
///
/// Its id is derived from the implied type and the resource, so every run and every instance makes the
/// same one and the store keeps it once. Its body has the Gigs envelope's shape, the API's resource as
/// `data`, the resource's time as `time`, and a `gigsRelay` member marking it reconstructed.
public enum StandIn {
    /// Every stand-in id starts with this; a Gigs event id never does (Gigs ids have no `_` after `evt_`).
    static let idPrefix = "evt_reconciled_"
    /// What a stand-in keeps where a received event keeps its `webhook-signature`.
    static let signature = "none (reconciled)"

    /// The event types reconciliation recovers (``ReconcileRule/all``).
    static let recoverableTypes = Set(ReconcileRule.all.map(\.impliedType))

    /// The stand-in's id for an event of `type` about `resource`.
    public static func id(type: String, resource: String) -> EventID {
        let code = HMACSHA256.code(key: Array("gigs-relay stand-in v1".utf8), message: "\(type)\n\(resource)")
        return EventID(idPrefix + code.prefix(16).lowercaseHex)
    }

    /// Whether a stored event of a stand-in's type and subject is the genuine event it stands in for:
    /// received (not a stand-in) and about `resource` (its `data.id`).
    static func isGenuine(id: EventID, body: [UInt8], for resource: String) -> Bool {
        genuineResource(id: id, body: body) == resource
    }

    /// The resource (`data.id`) a stored event is the genuine event about; nil for a stand-in.
    static func genuineResource(id: EventID, body: [UInt8]) -> String? {
        isStandIn(id) ? nil : (try? EventEnvelope.decode(body))?.resource
    }

    /// Whether `id` is a stand-in's.
    public static func isStandIn(_ id: EventID) -> Bool {
        id.rawValue.hasPrefix(idPrefix)
    }

    /// The `gigsRelay` member of a stand-in's body.
    struct Mark: Codable {
        var reconciled = true
        /// When it was made (RFC 3339).
        var reconciledAt: String
        /// Why reconciliation expected the event.
        var reason: String
    }

    /// The stand-in's body.
    private struct Body: Encodable {
        var object = "event"
        var id: String
        var type: String
        var project: String
        var source = "https://api.gigs.com"
        var specversion = "1.0"
        var time: String
        var datacontenttype = "application/json"
        var data: JSONValue
        var gigsRelay: Mark
    }

    /// The stand-in for `missing`, whose resource the API answered with `data`, as the store takes it.
    static func event(for missing: Reconciliation.Missing, data: JSONValue, project: String, madeAt: Int64)
        -> VerifiedEvent?
    {
        event(
            type: missing.type, resource: missing.resource, time: missing.time, reason: missing.reason, data: data,
            project: project, madeAt: madeAt)
    }

    /// The stand-in for an event of `type` about `resource` at `time` (RFC 3339), nil when it cannot be
    /// one (an id or type the store would refuse).
    package static func event(
        type: String, resource: String, time: String, reason: String, data: JSONValue, project: String,
        madeAt: Int64
    ) -> VerifiedEvent? {
        let id = Self.id(type: type, resource: resource)
        let body = Body(
            id: id.rawValue, type: type, project: project, time: time, data: data,
            gigsRelay: Mark(reconciledAt: Timestamp.iso8601(milliseconds: madeAt), reason: reason))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let bytes = try? Array(encoder.encode(body)), let envelope = try? EventEnvelope.decode(bytes) else {
            return nil
        }
        return VerifiedEvent(standIn: envelope, body: bytes, madeAt: madeAt)
    }
}
