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
        case "user": user
        case "erasedAt": erasedAt
        case "traceId": traceId
        case "reconciled": reconciled
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

// The pages around those rows (the overview, the events and dead letters lists) name their fields too:
// reflecting them took a tenth of a page's time.

extension OverviewContent: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "onOverview": onOverview
        case "counts": counts
        case "ready": ready
        case "reasons": reasons
        case "rates": rates
        case "actions": actions
        default: nil
        }
    }
}

extension OverviewContent.ActionRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "action": action
        case "hasDead": hasDead
        default: nil
        }
    }
}

extension OverviewContent.RateRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "one": one
        case "five": five
        case "fifteen": fifteen
        default: nil
        }
    }
}

extension OverviewCounts: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "eventsReceived": eventsReceived
        case "pending": pending
        case "running": running
        case "dead": dead
        case "oldestPendingSeconds": oldestPendingSeconds
        default: nil
        }
    }
}

extension ActionView: MustacheParent {
    public func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "kind": kind
        case "paused": paused
        case "pausedAt": pausedAt
        case "circuit": circuit
        case "circuitSince": circuitSince
        case "circuitError": circuitError
        case "inFlight": inFlight
        case "pending": pending
        case "dead": dead
        case "lastError": lastError
        default: nil
        }
    }
}

extension EventsContent: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "onEvents": onEvents
        case "events": events
        case "filter": filter
        case "next": next
        default: nil
        }
    }
}

extension EventsContent.Filter: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "type": type
        case "idPrefix": idPrefix
        case "subject": subject
        case "user": user
        case "since": since
        case "until": until
        default: nil
        }
    }
}

extension DeadContent: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "onDead": onDead
        case "deliveries": deliveries
        case "hasDeliveries": hasDeliveries
        case "count": count
        case "actionNames": actionNames
        case "back": back
        case "next": next
        default: nil
        }
    }
}

extension DeadContent.ActionChoice: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "selected": selected
        default: nil
        }
    }
}
