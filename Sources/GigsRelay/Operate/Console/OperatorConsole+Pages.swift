import Foundation

/// The console's pages: each reads through the operator API's functions, so a page shows what the API
/// answers, in the same views.
extension OperatorConsole {
    func overview() async throws -> (template: String, title: String, content: OverviewContent) {
        let now = api.clock.now
        let activity = observability.metrics.activity
        let rates = [("Events received", ActivityRates.Kind.received), ("Delivered", .delivered), ("Failed", .failed)]
            .map { name, kind in
                OverviewContent.RateRow(
                    name: name, one: Self.rate(activity.perSecond(kind, minutes: 1, now: now)),
                    five: Self.rate(activity.perSecond(kind, minutes: 5, now: now)),
                    fifteen: Self.rate(activity.perSecond(kind, minutes: 15, now: now)))
            }
        let reasons = observability.monitor.notReadyReasons(now: now)
        let content = OverviewContent(
            counts: try await counts(), ready: reasons.isEmpty, reasons: reasons, rates: rates,
            actions: try await api.actions().actions.map(OverviewContent.ActionRow.init))
        return ("overview", "Overview", content)
    }

    /// The overview's counts, which its script refreshes.
    func counts() async throws -> OverviewCounts {
        let stats = observability.monitor.stats ?? StoreStats()
        let running = (try await api.console.actionSummaries()).reduce(0) { $0 + $1.running }
        return OverviewCounts(
            eventsReceived: stats.eventsReceived, pending: stats.pendingDeliveries, running: running,
            dead: stats.deadDeliveries,
            oldestPendingSeconds: stats.oldestPendingAgeMilliseconds(now: api.clock.now) / 1000)
    }

    func events(_ query: [String: String]) async throws -> (template: String, title: String, content: EventsContent) {
        var apiQuery = query
        apiQuery["limit"] = "\(Self.pageSize)"
        let page = try await api.listEvents(apiQuery)
        let filter = EventsContent.Filter(
            type: query["type"] ?? "", idPrefix: query["idPrefix"] ?? "", subject: query["subject"] ?? "",
            user: query["user"] ?? "", since: query["since"] ?? "", until: query["until"] ?? "")
        let fields = [
            "type": filter.type, "idPrefix": filter.idPrefix, "subject": filter.subject, "user": filter.user,
            "since": filter.since,
            "until": filter.until,
        ]
        let content = EventsContent(
            events: page.events.map { EventsContent.Row(event: $0, path: Self.pathSegment($0.id)) }, filter: filter,
            next: page.next.map { Self.queryString(fields.merging(["after": $0]) { _, new in new }) })
        return ("events", "Events", content)
    }

    func event(_ id: String) async throws -> (template: String, title: String, content: EventContent) {
        let detail = try await api.event(id)
        let payload: String
        if case .string(let text) = detail.event {
            payload = text
        } else {
            payload = detail.event.prettyPrinted
        }
        var routed: [String] = []
        for route in detail.routes {
            for action in route.actions where !routed.contains(action) { routed.append(action) }
        }
        let path = Self.pathSegment(id)
        let content = EventContent(
            event: detail.summary, webhookTimestamp: detail.webhookTimestamp,
            supersededBy: detail.supersededBy.map(Self.pathSegment), routes: detail.routes,
            routedActions: routed, deliveries: detail.deliveries.map { EventContent.DeliveryRow($0, eventPath: path) },
            payload: payload, eventPath: path,
            traceLink: detail.summary.traceId.flatMap(observability.tracing.link(traceID:)))
        return ("event", "Event \(id)", content)
    }

    func dead(_ query: [String: String]) async throws -> (template: String, title: String, content: DeadContent) {
        let action = query["action"].nonEmpty
        var apiQuery = ["status": DeliveryStatus.dead.rawValue, "limit": "\(Self.pageSize)"]
        apiQuery["action"] = action
        apiQuery["after"] = query["after"].nonEmpty
        let page = try await api.listDeliveries(apiQuery)
        var names = Set(api.live.snapshot.settings.keys)
        names.formUnion((try await api.console.actionSummaries()).map(\.action))
        let filter = action.map { ["action": $0] } ?? [:]
        let rows = page.deliveries.map { DeadContent.Row(delivery: $0, eventPath: Self.pathSegment($0.eventId)) }
        let content = DeadContent(
            deliveries: rows, hasDeliveries: !rows.isEmpty, count: rows.count,
            actionNames: names.sorted().map { DeadContent.ActionChoice(name: $0, selected: $0 == action) },
            back: filter.isEmpty ? "dead" : "dead?\(Self.queryString(filter))",
            next: page.next.map { Self.queryString(filter.merging(["after": $0]) { _, new in new }) })
        return ("dead", "Dead letters", content)
    }

    func reconciliation() async throws -> (template: String, title: String, content: ReconciliationContent) {
        let runs = try await api.reconciliations(["limit": "20"]).runs
        return (
            "reconciliation", "Reconciliation",
            ReconciliationContent(runs: runs.map { .init($0, path: Self.pathSegment) })
        )
    }
}
