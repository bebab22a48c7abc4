import Mustache

/// The list pages render 50 of these rows each: read by name without reflection. The console's test
/// checks that every stored property is here (`ConsoleTemplateTests`).
extension EventView: MustacheParent {
    public func child(named name: String) -> Any? {
        switch name {
        case "sequence": sequence
        case "id": id
        case "type": type
        case "receivedAt": receivedAt
        case "messageId": messageId
        case "project": project
        case "time": time
        case "subject": subject
        default: nil
        }
    }
}

extension EventsContent.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "event": event
        case "path": path
        default: nil
        }
    }
}

extension DeliveryView: MustacheParent {
    public func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "eventId": eventId
        case "eventType": eventType
        case "action": action
        case "status": status
        case "blockedBy": blockedBy
        case "subject": subject
        case "outOfOrder": outOfOrder
        case "attemptCount": attemptCount
        case "lastError": lastError
        case "nextAttemptAt": nextAttemptAt
        case "replay": replay
        case "createdAt": createdAt
        case "updatedAt": updatedAt
        default: nil
        }
    }
}

extension DeadContent.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "delivery": delivery
        case "eventPath": eventPath
        default: nil
        }
    }
}
