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

    enum Keys {
        static let ordering = ConfigKey.choice(
            "ordering", ["none", "subject"], default: "none", reload: .applies,
            "`subject`: deliveries that share a subject go one at a time, in the event's `time` order")
        static let subject = ConfigKey.strings(
            "subject", form: "JSON pointers", default: OrderingSettings.defaultSubject, reload: .applies,
            "where the subject is read (the first string or number wins); with `ordering = \"subject\"`")
        static let reorderWindowMilliseconds = ConfigKey.integer(
            "reorder_window_ms", in: 0...60_000, default: 2000, reload: .applies,
            "how long each ordered delivery waits for an earlier event that arrives late")
        static let onDead = ConfigKey.choice(
            "on_dead", ["block", "continue"], default: "block", reload: .applies,
            "`block`: a dead delivery holds its subject until it is retried or skipped; `continue`: the next one goes")
    }

    static let keys: [any ConfigKeyDescription] = [
        Keys.ordering, Keys.subject, Keys.reorderWindowMilliseconds, Keys.onDead,
    ]

    /// Reads the ordering keys of an action's table; nil for `ordering = "none"`, which refuses the others.
    init?(section: TOMLSection) throws(ConfigurationError) {
        let mode = try section.read(Keys.ordering)
        guard mode == "subject" else {
            for key in [Keys.subject.name, Keys.reorderWindowMilliseconds.name, Keys.onDead.name]
            where section.contains(key) {
                throw ConfigurationError(key: section.key(key), "needs ordering = \"subject\"")
            }
            return nil
        }
        subject = try section.read(Keys.subject, atLeastOne: "JSON pointer", each: JSONPointer.init)
        reorderWindowMilliseconds = try section.read(Keys.reorderWindowMilliseconds)
        deadBlocks = try section.read(Keys.onDead) == "block"
    }

    /// The ordering keys with their effective values (`ordering = "none"` when `settings` is nil).
    static func effectiveKeys(_ settings: OrderingSettings?) -> [EffectiveKey] {
        [
            Keys.ordering.effective(settings == nil ? "none" : "subject"),
            Keys.subject.effective(settings?.subject.map(\.description)),
            Keys.reorderWindowMilliseconds.effective(settings?.reorderWindowMilliseconds),
            Keys.onDead.effective(settings.map { $0.deadBlocks ? "block" : "continue" }),
        ]
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
