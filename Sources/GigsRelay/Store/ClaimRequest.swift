/// What the dispatcher asks of one claim.
public struct ClaimRequest: Sendable {
    /// What a claim needs to know of one action.
    public struct Action: Sendable {
        /// How many more of its deliveries may run now.
        public var room: Int
        /// Its `max_attempts`: a delivery whose lease expired on that attempt becomes `dead`.
        public var maxAttempts: Int
        /// `ordering = "subject"`: a delivery with a subject goes only when every earlier one of its
        /// subject finished (`deadBlocks`: a dead one holds it) and none of its subject is running.
        public var ordered: Bool
        public var deadBlocks: Bool

        public init(room: Int, maxAttempts: Int, ordered: Bool = false, deadBlocks: Bool = true) {
            self.room = room
            self.maxAttempts = maxAttempts
            self.ordered = ordered
            self.deadBlocks = deadBlocks
        }
    }

    /// Most deliveries to claim.
    public let limit: Int
    /// The actions to claim for. Deliveries of actions not listed (no longer configured) are left as they
    /// are.
    public let actions: [String: Action]
    /// Now, in Unix ms.
    public let now: Int64
    /// The lease's length.
    public let leaseMilliseconds: Int64
    /// When set, the claim first parks, until this time (Unix ms), due deliveries of ordered actions
    /// whose subject a dead delivery holds, so that later claims do not read them again and again. A retry
    /// or skip of the dead delivery makes them due again.
    public var parkBlockedUntil: Int64?

    public init(limit: Int, actions: [String: Action], now: Int64, leaseMilliseconds: Int64) {
        self.limit = limit
        self.actions = actions
        self.now = now
        self.leaseMilliseconds = leaseMilliseconds
    }
}
