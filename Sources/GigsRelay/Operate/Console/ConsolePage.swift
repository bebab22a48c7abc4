import Mustache

/// What a console template renders: what every page shows (its title, the relative root of its links, the
/// session's CSRF token when signed in, the notice after a change, the version) around the page's own
/// content, whose stored properties the template reads by name (computed ones are not seen).
///
/// Content that names its own fields (a ``MustacheParent``: the list pages and the overview, see
/// `ConsoleRows+Mustache.swift`) is read as it is; other content is reflected once, into nested
/// dictionaries, when the page is made. Mustache would otherwise build a `Mirror` for every name it
/// looks up in every row, which made a page of 50 events three times slower than the dictionaries the
/// console once built by hand.
struct ConsolePage<Content>: MustacheParent {
    let title: String
    /// The relative path to the console's root (`.` or `..`).
    let root: String
    /// The session's CSRF token; nil on pages shown without a session.
    let csrf: String?
    let notice: String?
    /// The content's stored properties by name: itself, or reflected once (``Self/context(of:)``).
    private let content: any MustacheParent

    init(title: String, root: String = ".", csrf: String? = nil, notice: String? = nil, content: Content) {
        self.title = title
        self.root = root
        self.csrf = csrf
        self.notice = notice
        self.content = Self.context(of: content) as? any MustacheParent ?? [String: Any]()
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "root": root
        case "csrf": csrf
        case "signedIn": csrf != nil
        case "notice": notice
        case "version": RelayVersion.current
        default: content.child(named: name)
        }
    }

    /// What a template sees of `value`: a ``MustacheParent`` as it is, a struct as a dictionary of its
    /// stored properties (an empty optional left out, so `{{#name}}` is false), an array element by
    /// element, anything else as it is.
    static func context(of value: Any) -> Any? {
        // A type that names its own children (the rows every list page repeats) is read as it is.
        if value is any MustacheParent { return value }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            return mirror.children.first.flatMap { context(of: $0.value) }
        case .struct, .class:
            var fields: [String: Any] = [:]
            for child in mirror.children {
                guard let label = child.label, let field = context(of: child.value) else { continue }
                fields[label] = field
            }
            return fields
        case .collection:
            return mirror.children.compactMap { context(of: $0.value) }
        default:
            return value
        }
    }
}

/// The sign-in form.
struct SignInContent {
    let nonce: String
    let error: String?
}

/// A page that only says something, with an optional link.
struct MessageContent {
    let text: String
    var link: String?
    var linkText: String?
}

/// `/console/overview`: counts, readiness, rates and every action.
struct OverviewContent {
    /// One action's row: its view, and whether it has dead letters to link to.
    struct ActionRow {
        let action: ActionView
        let hasDead: Bool

        init(_ action: ActionView) {
            self.action = action
            hasDead = action.dead > 0
        }
    }

    /// Events received, delivered and failed per second over 1, 5 and 15 minutes.
    struct RateRow {
        let name: String
        let one: String
        let five: String
        let fifteen: String
    }

    let onOverview = true
    let counts: OverviewCounts
    let ready: Bool
    let reasons: [String]
    let rates: [RateRow]
    let actions: [ActionRow]
}

/// The overview's counts, which its script refreshes from `overview.json`.
struct OverviewCounts: Codable, Sendable {
    let eventsReceived: Int64
    let pending: Int
    let running: Int
    let dead: Int
    let oldestPendingSeconds: Int64
}

/// `/console/events`: a page of events with the filter that chose them.
struct EventsContent {
    struct Row {
        let event: EventView
        /// The event's id as a path segment.
        let path: String
    }

    /// The filter's fields as the operator typed them.
    struct Filter {
        let type: String
        let idPrefix: String
        let subject: String
        let user: String
        let since: String
        let until: String
    }

    let onEvents = true
    let events: [Row]
    let filter: Filter
    /// The query of the next page, when there is one.
    let next: String?
}

/// `/console/events/ID`: one event, what matches it now, its deliveries, and its payload.
struct EventContent {
    struct DeliveryRow {
        let delivery: DeliveryView
        let attempts: [AttemptView]
        let eventPath: String
        let canRetry: Bool
        let canSkip: Bool

        init(_ delivery: DeliveryDetailView, eventPath: String) {
            self.delivery = delivery.summary
            attempts = delivery.attempts
            self.eventPath = eventPath
            let status = DeliveryStatus(rawValue: delivery.summary.status)
            canRetry = status.map(DeliveryMove.retry.from.contains) ?? false
            canSkip = status.map(DeliveryMove.skip.from.contains) ?? false
        }
    }

    let onEvents = true
    let event: EventView
    let webhookTimestamp: Int64
    /// The path of its reconciled stand-in, when that was stored first.
    let supersededBy: String?
    let routes: [RouteMatchView]
    /// The actions of every matching route, each once: what a replay can go to.
    let routedActions: [String]
    let deliveries: [DeliveryRow]
    /// The (redacted) payload, pretty-printed.
    let payload: String
    let eventPath: String
    /// Its trace in the viewer of `[tracing] ui_url`, when one is configured and it was traced.
    let traceLink: String?
}

/// `/console/dead`: dead letters, optionally of one action.
struct DeadContent {
    struct Row {
        let delivery: DeliveryView
        let eventPath: String
    }

    struct ActionChoice {
        let name: String
        let selected: Bool
    }

    let onDead = true
    let deliveries: [Row]
    let hasDeliveries: Bool
    let count: Int
    let actionNames: [ActionChoice]
    /// The page to come back to after a change.
    let back: String
    let next: String?
}

/// `/console/reconciliation`: the newest reconciliation runs, what each found, and the stand-ins stored.
struct ReconciliationContent {
    struct Run {
        struct Missing {
            let type: String
            let resource: String
            let time: String
            /// The path of its stand-in's event page, when the run emitted (the stand-in may since be pruned).
            let standIn: String?
        }

        let id: Int64
        let startedAt: String
        let trigger: String
        let instance: String
        let state: String
        let incomplete: String?
        let resourcesRead: String
        let expected: String
        let found: String
        let missingCount: Int
        let emitted: String
        let hasMissing: Bool
        let missing: [Missing]
        /// Missing events the record does not list.
        let more: Int?

        init(_ run: ReconcileRun, path: (String) -> String) {
            id = run.id
            startedAt = Timestamp.iso8601(milliseconds: run.startedAt)
            trigger = run.trigger.rawValue
            instance = run.instance
            state = run.state
            let result = run.result
            incomplete = result?.incomplete
            // A count of the result, or a dash while the run has none.
            let count = { (value: (Reconciliation) -> Int?) in result.flatMap(value).map(String.init) ?? "–" }
            resourcesRead = count(\.resourcesRead)
            expected = count(\.expected)
            found = count(\.found)
            missingCount = run.missingCount
            emitted = count(\.emitted)
            let emittedAny = result?.emitted != nil
            missing = (result?.missing ?? []).map { missing in
                Missing(
                    type: missing.type, resource: missing.resource, time: missing.time,
                    standIn: emittedAny
                        ? path(StandIn.id(type: missing.type, resource: missing.resource).rawValue) : nil)
            }
            hasMissing = !missing.isEmpty
            more = run.missingCount > missing.count ? run.missingCount - missing.count : nil
        }
    }

    let onReconciliation = true
    let runs: [Run]
}
