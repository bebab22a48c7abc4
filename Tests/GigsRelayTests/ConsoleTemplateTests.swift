import Foundation
import Testing

@testable import GigsRelay

/// The console's row types that name their own children (to spare a `Mirror` per lookup) name every
/// stored property, with its value.
@Suite("Console templates")
struct ConsoleTemplateTests {
    @Test("The list rows (events, dead letters) give every stored property by name, as reflection would")
    func rowsNameEveryProperty() throws {
        let json = #"""
            {"sequence": 7, "id": "evt_1", "type": "com.gigs.subscription.activated",
             "receivedAt": "2026-12-02T10:00:00.000Z", "messageId": "msg_1", "project": "prj",
             "time": "2026-12-02T09:59:59Z", "subject": "sub_1",
             "user": "usr_1", "erasedAt": "2026-12-02T11:00:00.000Z",
             "traceId": "4bf92f3577b34da6a3ce929d0e0e4736"}
            """#
        let view = try JSONDecoder().decode(EventView.self, from: Data(json.utf8))
        let row = EventsContent.Row(event: view, path: "evt_1")
        expectNamesEveryProperty(of: view, view.child(named:))
        expectNamesEveryProperty(of: row, row.child(named:))

        let deliveryJSON = #"""
            {"id": "dlv_1", "eventId": "evt_1", "eventType": "com.gigs.subscription.activated", "action": "a",
             "status": "dead", "blockedBy": "dlv_0", "subject": "sub_1", "outOfOrder": true, "attemptCount": 3,
             "lastError": "HTTP 500", "nextAttemptAt": "2026-12-02T10:00:00.000Z", "replay": false,
             "createdAt": "2026-12-02T09:00:00.000Z", "updatedAt": "2026-12-02T09:30:00.000Z"}
            """#
        let delivery = try JSONDecoder().decode(DeliveryView.self, from: Data(deliveryJSON.utf8))
        let dead = DeadContent.Row(delivery: delivery, eventPath: "evt_1")
        expectNamesEveryProperty(of: delivery, delivery.child(named:))
        expectNamesEveryProperty(of: dead, dead.child(named:))
    }

    @Test("The overview, events and dead letters pages give every stored property by name")
    func pagesNameEveryProperty() throws {
        var summary = ActionSummary(action: "mail")
        summary.pausedAt = 1_764_669_600_000
        summary.circuit = .open
        summary.circuitSince = 1_764_669_600_000
        summary.circuitError = "HTTP 503"
        summary.running = 1
        summary.waiting = 2
        summary.dead = 3
        summary.lastError = "HTTP 500"
        let action = ActionView(summary, kind: "http")
        let actionRow = OverviewContent.ActionRow(action)
        let rate = OverviewContent.RateRow(name: "Delivered", one: "1.0", five: "2.0", fifteen: "3.0")
        let counts = OverviewCounts(eventsReceived: 9, pending: 2, running: 1, dead: 3, oldestPendingSeconds: 60)
        let overview = OverviewContent(
            counts: counts, ready: false, reasons: ["store"], rates: [rate], actions: [actionRow])
        expectNamesEveryProperty(of: action, action.child(named:))
        expectNamesEveryProperty(of: actionRow, actionRow.child(named:))
        expectNamesEveryProperty(of: rate, rate.child(named:))
        expectNamesEveryProperty(of: counts, counts.child(named:))
        expectNamesEveryProperty(of: overview, overview.child(named:))

        let filter = EventsContent.Filter(
            type: "t", idPrefix: "evt_", subject: "sub_1", user: "usr_1", since: "1h", until: "now")
        let events = EventsContent(events: [], filter: filter, next: "after=7")
        expectNamesEveryProperty(of: filter, filter.child(named:))
        expectNamesEveryProperty(of: events, events.child(named:))

        let choice = DeadContent.ActionChoice(name: "mail", selected: true)
        let dead = DeadContent(
            deliveries: [], hasDeliveries: false, count: 0, actionNames: [choice], back: "dead", next: "after=dlv_1")
        expectNamesEveryProperty(of: choice, choice.child(named:))
        expectNamesEveryProperty(of: dead, dead.child(named:))
    }

    @Test("The console's templates read named content: its fields, the parent's, and an absent one as false")
    func templatesReadNamedContent() {
        let filter = EventsContent.Filter(
            type: "com.gigs.sim.created", idPrefix: "", subject: "", user: "", since: "", until: "")
        let last = ConsolePage(title: "Events", content: EventsContent(events: [], filter: filter, next: nil))
        let lastHTML = ConsoleTemplates.render(last, template: "events")
        #expect(lastHTML.contains(#"value="com.gigs.sim.created""#))
        #expect(lastHTML.contains("No events match."))
        #expect(!lastHTML.contains("Older events"))
        let more = ConsolePage(title: "Events", content: EventsContent(events: [], filter: filter, next: "after=7"))
        #expect(ConsoleTemplates.render(more, template: "events").contains(#"href="events?after=7""#))

        var summary = ActionSummary(action: "mail")
        summary.dead = 3
        let overview = OverviewContent(
            counts: OverviewCounts(eventsReceived: 9, pending: 2, running: 1, dead: 3, oldestPendingSeconds: 60),
            ready: false, reasons: ["store unreachable"],
            rates: [OverviewContent.RateRow(name: "Delivered", one: "1.5", five: "2.5", fifteen: "3.5")],
            actions: [OverviewContent.ActionRow(ActionView(summary, kind: "http"))])
        let page = ConsolePage(title: "Overview", csrf: "csrf_token_1", content: overview)
        let html = ConsoleTemplates.render(page, template: "overview")
        #expect(html.contains(#"data-field="eventsReceived">9<"#))
        #expect(html.contains("<li>store unreachable</li>"))
        #expect(!html.contains(#"id="readiness">Ready"#))
        #expect(html.contains("<td>1.5</td><td>2.5</td><td>3.5</td>"))
        #expect(html.contains(#"<a href="dead?action=mail">3</a>"#))
        #expect(html.contains(#"name="csrf" value="csrf_token_1""#))
    }

    func expectNamesEveryProperty(of value: Any, _ child: (String) -> Any?) {
        for property in Mirror(reflecting: value).children {
            let label = property.label ?? "?"
            let named = child(label)
            #expect(named != nil, "\(type(of: value)).\(label) is not named")
            #expect("\(named ?? "nil")" == "\(Self.unwrapped(property.value))", "\(label)")
        }
    }

    static func unwrapped(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value ?? "nil"
    }
}
