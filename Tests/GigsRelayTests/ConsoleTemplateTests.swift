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
             "time": "2026-12-02T09:59:59Z", "subject": "sub_1"}
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
