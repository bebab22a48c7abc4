/// What appending an event did.
public enum AppendResult: Sendable, Equatable {
    /// The event is new and is now durably stored.
    case accepted
    /// An event with the same id was already stored; nothing changed.
    case duplicate
}
