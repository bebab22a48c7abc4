/// `[[routes]]`: which actions an event type goes to.
public struct RouteConfiguration: Sendable, Equatable {
    /// `events`: the patterns this route matches.
    public var events: [EventTypePattern]
    /// `actions`: the action names, in order.
    public var actions: [String]
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
    /// The distinct action names the routes give `type`, in route order.
    public func actions(for type: String) -> [String] {
        var names: [String] = []
        for route in self where route.events.contains(where: { $0.matches(type) }) {
            for action in route.actions where !names.contains(action) {
                names.append(action)
            }
        }
        return names
    }
}
