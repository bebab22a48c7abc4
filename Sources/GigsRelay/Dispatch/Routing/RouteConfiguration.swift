/// `[[routes]]`: which actions an event type goes to, optionally only when fields of its payload have
/// given values.
public struct RouteConfiguration: Sendable, Equatable {
    /// `events`: the patterns this route matches.
    public var events: [EventTypePattern]
    /// `actions`: the action names, in order.
    public var actions: [String]
    /// `where`: conditions on the payload, all of which must hold (none: every payload matches).
    public var filters: [PayloadFilter] = []

    public init(events: [EventTypePattern], actions: [String], filters: [PayloadFilter] = []) {
        self.events = events
        self.actions = actions
        self.filters = filters
    }

    /// Whether the type matches and every filter holds for the payload values found.
    func matches(type: String, values: [JSONPointer: FilterValue]) -> Bool {
        events.contains { $0.matches(type) } && filters.allSatisfy { $0.matches(values[$0.pointer]) }
    }
}

extension RouteConfiguration {
    enum Keys {
        static let events = ConfigKey.strings(
            "events", form: "event types, prefixes ending in `.*`, or `\"*\"`", required: true, reload: .applies,
            "the event types this route takes")
        static let filters = ConfigKey.table(
            "where", form: "inline table of JSON pointer = value or [values]", reload: .applies,
            "conditions on the payload, all of which must hold; see [actions](actions.md#routes)")
        static let actions = ConfigKey.strings(
            "actions", form: "action names", required: true, reload: .applies,
            "the `[actions.NAME]` each matching event is delivered to")
    }

    static let section = ConfigSection(
        name: "[routes]", summary: "Which actions an event goes to; each `[[routes]]` table is one route.",
        keys: [Keys.events, Keys.filters, Keys.actions])

    /// Reads one `[[routes]]` table; `actions` are the configured action names it may use.
    init(section: TOMLSection, actions known: Set<String>) throws(ConfigurationError) {
        events = try section.read(Keys.events, atLeastOne: "event type or pattern", each: EventTypePattern.init)
        actions = try section.read(Keys.actions, atLeastOne: "action") { name, _ in name }
        for name in actions where !known.contains(name) {
            let names = known.sorted().joined(separator: ", ")
            throw ConfigurationError(
                key: section.key(Keys.actions),
                "unknown action \"\(name)\"; configured actions: \(names.isEmpty ? "none" : names)")
        }
        filters = try (section.scalarTable(Keys.filters.name) ?? []).map {
            (pointer, values) throws(ConfigurationError) in
            PayloadFilter(pointer: try JSONPointer(parsing: pointer, key: section.key(Keys.filters)), values: values)
        }
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.events.effective(events.map(\.description)),
            Keys.filters.effective(
                filters.isEmpty ? nil : "{ " + filters.map(\.description).joined(separator: ", ") + " }"),
            Keys.actions.effective(actions),
        ]
    }
}

/// An event-type pattern: an exact type, a prefix ending in `.*`, or `*` for every type.
public enum EventTypePattern: Sendable, Equatable, CustomStringConvertible {
    case exact(String)
    /// `com.gigs.subscriptionGroup.*`: the stored prefix keeps its final dot.
    case prefix(String)
    case any

    public init(parsing text: String, key: String) throws(ConfigurationError) {
        if text == "*" {
            self = .any
        } else if text.hasSuffix(".*") && text.count > 2 && !text.dropLast(2).contains("*") {
            self = .prefix(String(text.dropLast()))
        } else if !text.isEmpty && !text.contains("*") {
            self = .exact(text)
        } else {
            throw ConfigurationError(
                key: key, "must be an event type, a prefix ending in \".*\", or \"*\", got \"\(text)\"")
        }
    }

    /// Whether `type` matches.
    public func matches(_ type: String) -> Bool {
        switch self {
        case .exact(let exact): type == exact
        case .prefix(let prefix): type.hasPrefix(prefix)
        case .any: true
        }
    }

    public var description: String {
        switch self {
        case .exact(let exact): exact
        case .prefix(let prefix): prefix + "*"
        case .any: "*"
        }
    }
}

extension [RouteConfiguration] {
    /// The distinct action names the routes give an event, in route order: routes whose patterns match
    /// `type` and whose filters all hold for `body`.
    public func actions(for type: String, body: [UInt8]) -> [String] {
        var names: [String] = []
        for index in matching(type: type, body: body) {
            for action in self[index].actions where !names.contains(action) {
                names.append(action)
            }
        }
        return names
    }

    /// The deliveries a new event gets: one per routed action; those of an action with
    /// `ordering = "subject"` carry the event's subject (when it has one) and wait out the reorder window.
    public func deliveries(for event: VerifiedEvent, settings: [String: ActionConfiguration]) -> [NewDelivery] {
        actions(for: event.type, body: event.body).map { name in
            guard let ordering = settings[name]?.ordering, let subject = ordering.subject(of: event) else {
                return NewDelivery(action: name, dueAt: event.receivedAt)
            }
            return NewDelivery(
                action: name, subject: subject,
                dueAt: event.receivedAt.saturatingAdd(Int64(ordering.reorderWindowMilliseconds)))
        }
    }

    /// The indices of the routes an event matches. The payload is read only when a route of its type has
    /// filters, and then once for all of them.
    public func matching(type: String, body: [UInt8]) -> [Int] {
        let candidates = indices.filter { self[$0].events.contains { $0.matches(type) } }
        let pointers = Set(candidates.flatMap { self[$0].filters.map(\.pointer) })
        let values = pointers.isEmpty ? [:] : PayloadProbe(pointers).values(in: body)
        return candidates.filter { self[$0].matches(type: type, values: values) }
    }
}
