/// Row-level access to a store for `gigs-relay store copy`: every column of the three tables, by id,
/// with the ids kept, so a copy is exact and running it again changes nothing but what changed.
public protocol StoreRows: AnyObject, Sendable {
    /// Up to `limit` rows with ids above `id`, in id order.
    func events(after id: Int64, limit: Int) async throws(StoreError) -> [EventRow]
    func deliveries(after id: Int64, limit: Int) async throws(StoreError) -> [DeliveryRow]
    func attempts(after id: Int64, limit: Int) async throws(StoreError) -> [AttemptRow]

    /// The rows that have these ids (missing ones left out).
    func events(ids: [Int64]) async throws(StoreError) -> [EventRow]
    func deliveries(ids: [Int64]) async throws(StoreError) -> [DeliveryRow]
    func attempts(ids: [Int64]) async throws(StoreError) -> [AttemptRow]
    /// The sequence number each of these event ids is stored under.
    func eventSequences(eventIDs: [String]) async throws(StoreError) -> [String: Int64]

    /// Inserts the rows in one transaction, leaving out any whose id (or event id) is already stored.
    func insert(events: [EventRow]) async throws(StoreError)
    /// Inserts new deliveries and updates stored ones the source changed later (a newer `updated_at`),
    /// in one transaction; a delivery the destination changed later is left as it is.
    func upsert(deliveries: [DeliveryRow]) async throws(StoreError)
    func insert(attempts: [AttemptRow]) async throws(StoreError)

    /// The ids of the keys the store's rows may be sealed with (``StoreKeySQL``).
    func listedKeys() async throws(StoreError) -> [String]
    /// Lists these key ids, before rows sealed with them are copied in.
    func list(keys: [String]) async throws(StoreError)

    /// Makes ids the store generates from now on start above these (PostgreSQL's identity sequences;
    /// SQLite takes the highest row id + 1 by itself).
    func reserveIDs(above ids: StoreCopy.HighestIDs) async throws(StoreError)

    /// Closes the connections.
    func close() async
}

/// An event row as stored.
public struct EventRow: Sendable, Equatable {
    public var sequence: Int64
    public var id: String
    public var type: String
    public var project: String?
    public var eventTime: String?
    public var receivedAt: Int64
    public var messageID: String
    public var webhookTimestamp: Int64
    public var signature: String
    /// As stored: sealed when the source seals (a copy keeps it sealed, for the same event id).
    public var body: [UInt8]
    public var subject: String? = nil
    public var user: String? = nil
    public var erasedAt: Int64? = nil
    /// ``TraceContext/stored``.
    public var traceContext: String? = nil
}

/// A delivery row as stored.
public struct DeliveryRow: Sendable, Equatable {
    public var id: Int64
    public var eventSequence: Int64
    public var action: String
    public var status: String
    public var attempts: Int64
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var replay: Int64
    public var createdAt: Int64
    public var updatedAt: Int64
    public var leaseExpirations: Int64
    public var subject: String? = nil
    public var orderAt: Int64 = 0
    public var outOfOrder: Int64 = 0
}

/// An attempt row as stored.
public struct AttemptRow: Sendable, Equatable {
    public var id: Int64
    public var deliveryID: Int64
    public var number: Int64
    public var startedAt: Int64
    public var durationMilliseconds: Int64
    public var outcome: String
    public var error: String?
    public var output: String?
}
