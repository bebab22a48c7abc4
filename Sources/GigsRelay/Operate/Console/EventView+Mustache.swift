import Mustache

/// The events list renders 50 of these per page: read by name without reflection. The console's test
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
