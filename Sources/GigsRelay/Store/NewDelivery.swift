/// A delivery a new event gets: one per routed action.
public struct NewDelivery: Sendable, Equatable {
    public let action: String
    /// The subject it is ordered by, for an action with `ordering = "subject"`; nil: not ordered.
    public let subject: String?
    /// When it is first due (Unix ms): the event's arrival, or later by the action's reorder window.
    public let dueAt: Int64

    public init(action: String, subject: String? = nil, dueAt: Int64) {
        self.action = action
        self.subject = subject
        self.dueAt = dueAt
    }
}
