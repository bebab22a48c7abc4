/// Ordered delivery per subject: deliveries that share a subject go one at a time, in event `time`
/// order, then arrival order.
public struct OrderingSettings: Sendable, Equatable {
    /// The default subject: the subscription of `subscriptionChange.*` events, else the resource in `data`
    /// (a subscription, a group, …); see GIGS.md.
    public static let defaultSubject = ["/data/subscription", "/data/id"]

    /// `subject`: JSON pointers; the first that leads to a string or number is the subject.
    public var subject: [JSONPointer]
    /// `reorder_window_ms`: how long a new ordered delivery waits, so a late arrival still sorts first.
    public var reorderWindowMilliseconds: Int
    /// `on_dead = "block"` (the default): a dead delivery holds its subject until retried or skipped;
    /// `"continue"`: the next one goes.
    public var deadBlocks: Bool

    init?(section: TOMLSection) throws(ConfigurationError) {
        let mode = try section.string("ordering") ?? "none"
        let pointers = try section.strings("subject")
        let window = try section.integer("reorder_window_ms", in: 0...60_000)
        let onDead = try section.string("on_dead")
        switch mode {
        case "none":
            for (key, set) in [
                ("subject", pointers != nil), ("reorder_window_ms", window != nil), ("on_dead", onDead != nil),
            ]
            where set {
                throw ConfigurationError(key: section.key(key), "needs ordering = \"subject\"")
            }
            return nil
        case "subject": break
        default:
            throw ConfigurationError(key: section.key("ordering"), "must be \"none\" or \"subject\", got \"\(mode)\"")
        }
        let texts = pointers ?? Self.defaultSubject
        guard !texts.isEmpty else {
            throw ConfigurationError(key: section.key("subject"), "must list at least one JSON pointer")
        }
        subject = try texts.map { (text) throws(ConfigurationError) in
            try JSONPointer(parsing: text, key: section.key("subject"))
        }
        reorderWindowMilliseconds = window ?? 2000
        switch onDead ?? "block" {
        case "block": deadBlocks = true
        case "continue": deadBlocks = false
        case let other:
            throw ConfigurationError(key: section.key("on_dead"), "must be \"block\" or \"continue\", got \"\(other)\"")
        }
    }

    /// Subjects are kept to this many bytes, the longest id ingest accepts (ids are far shorter; a
    /// longer value is cut, not refused).
    static let maxSubjectBytes = EventEnvelope.maxFieldBytes

    /// Whether `subject` is the default (`data.subscription`, else `data.id`), which ingest has already
    /// read from the envelope as ``VerifiedEvent/subject``.
    public var isDefaultSubject: Bool { subject.map(\.description) == Self.defaultSubject }

    /// The subject of an event: with the default pointers, the one the envelope gave (no second read of
    /// the payload) when it has one; else the first pointer that leads to a string or a number.
    public func subject(of event: VerifiedEvent) -> String? {
        if isDefaultSubject, let subject = event.subject { return subject }
        return subject(in: event.body)
    }

    /// The subject of an event's payload: the first pointer that leads to a string or a number.
    public func subject(in body: [UInt8]) -> String? {
        let values = PayloadProbe(subject).values(in: body)
        for pointer in subject {
            switch values[pointer] {
            case .string(let text)? where !text.isEmpty:
                guard text.utf8.count > Self.maxSubjectBytes else { return text }
                return String(decoding: text.utf8.prefix(Self.maxSubjectBytes), as: UTF8.self)
            case .number?: return values[pointer]?.description
            default: continue
            }
        }
        return nil
    }
}
