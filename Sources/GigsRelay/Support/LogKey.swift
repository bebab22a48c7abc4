/// Metadata keys of gigs-relay's log records, kept in one place so every component spells them alike.
///
/// Messages are constant phrases; the data of a record lives under these keys.
public enum LogKey {
    public static let action = "relay.action"
    public static let attempt = "relay.attempt"
    public static let circuit = "relay.circuit"
    public static let configPath = "relay.config.path"
    public static let clientAddress = "relay.client.address"
    public static let deliveryID = "relay.delivery.id"
    public static let outcome = "relay.outcome"
    public static let reasons = "relay.reasons"
    public static let running = "relay.running"
    public static let error = "relay.error"
    public static let errorCode = "relay.error.code"
    public static let eventID = "relay.event.id"
    public static let eventType = "relay.event.type"
    public static let listenAddress = "relay.listen.address"
    public static let adminAddress = "relay.admin.address"
    public static let messageID = "relay.message.id"
    public static let migration = "relay.store.migration"
    public static let secretCount = "relay.webhook.secrets"
    public static let secretIndex = "relay.webhook.secret_index"
    public static let storeBatch = "relay.store.batch"
    public static let storePath = "relay.store.path"
    /// `sqlite` or `postgresql`.
    public static let storeBackend = "relay.store.backend"
    public static let suppressed = "relay.log.suppressed"
    /// A reconciliation run's id, and what it read and found.
    public static let reconcileRun = "relay.reconcile.run"
    public static let reconcileResource = "relay.reconcile.resource"
    public static let reconcileTime = "relay.reconcile.time"
    public static let reconcileResources = "relay.reconcile.resources"
    public static let reconcileExpected = "relay.reconcile.expected"
    public static let reconcileFound = "relay.reconcile.found"
    public static let reconcileMissing = "relay.reconcile.missing"
    public static let reconcileEmitted = "relay.reconcile.emitted"
    public static let reconcileAPIErrors = "relay.reconcile.api_errors"
}
