/// What one reconciliation found: the events the API's state implies and which of them the store lacks.
public struct Reconciliation: Sendable, Codable, Equatable {
    /// An implied event the store does not hold.
    public struct Missing: Sendable, Codable, Equatable {
        /// The resource's id (`sub_…`, `sch_…`).
        public var resource: String
        /// The implied event type.
        public var type: String
        /// The time of the resource's state (RFC 3339).
        public var time: String
        /// Why the event was expected, in a sentence.
        public var reason: String
        /// The resource as the API answered it: the stand-in's `data`. Never printed (it holds personal
        /// data), so not encoded.
        public var data: JSONValue?

        public init(resource: String, type: String, time: String, reason: String, data: JSONValue? = nil) {
            self.resource = resource
            self.type = type
            self.time = time
            self.reason = reason
            self.data = data
        }

        private enum CodingKeys: String, CodingKey {
            case resource, type, time, reason
        }
    }

    /// The window's start (RFC 3339): resources created and states reached before it are not read.
    public var since: String
    /// Resources read from the API, over every list.
    public var resourcesRead = 0
    /// Events the resources' states imply.
    public var expected = 0
    /// Of those, the ones stored.
    public var found = 0
    public var missing: [Missing] = []
    /// Calls to the Gigs API that failed, the ones asked again included.
    public var apiErrors = 0
    /// Why the API could not be read completely, when it could not: the result is partial then, and never
    /// means that nothing is missing.
    public var incomplete: String?
    /// With `--emit`: how many stand-ins this run stored (one whose id another run stored meanwhile is
    /// not counted).
    public var emitted: Int?

    public init(since: String) {
        self.since = since
    }
}
