/// What the state of a resource in the Gigs API implies Gigs sent as a webhook: one rule per row, so a
/// new one (a subscription group's members, a porting) is a row in ``all``, not a code path.
public struct ReconcileRule: Sendable {
    /// How the stored event a rule implies is recognised.
    public enum Match: Sendable, Equatable {
        /// An event of the implied type whose subject is the resource itself (a subscription's events).
        case subject
        /// An event of the implied type whose `data.id` is the resource, looked up by its subject: the
        /// resource's string field `subjectField` (a subscription change's `subscription`).
        case dataID(subjectField: String)
    }

    /// The API's list below the project, e.g. `subscriptions`.
    public let collection: String
    /// What the resource is called in a report, e.g. `subscription`.
    public let resource: String
    /// The `status` values the rule applies to; nil for any status.
    public let statuses: Set<String>?
    /// The fields holding the time of that state: the first one set counts, and it must fall in the
    /// window. A resource without any of them implies nothing.
    public let timeFields: [String]
    /// The event type the state implies.
    public let impliedType: String
    public let match: Match

    /// The rules gigs-relay reconciles by. An activation counts whatever the subscription's status is
    /// now: a subscription activated and ended within the window was sent both events.
    public static let all: [ReconcileRule] = [
        ReconcileRule(
            collection: "subscriptions", resource: "subscription", statuses: nil, timeFields: ["activatedAt"],
            impliedType: "com.gigs.subscription.activated", match: .subject),
        ReconcileRule(
            collection: "subscriptions", resource: "subscription", statuses: ["ended"], timeFields: ["endedAt"],
            impliedType: "com.gigs.subscription.ended", match: .subject),
        ReconcileRule(
            collection: "subscriptions", resource: "subscription", statuses: ["canceled"],
            timeFields: ["canceledAt"], impliedType: "com.gigs.subscription.canceled", match: .subject),
        ReconcileRule(
            collection: "subscriptionChanges", resource: "subscription change", statuses: ["applied"],
            timeFields: ["appliedAt"], impliedType: "com.gigs.subscriptionChange.applied",
            match: .dataID(subjectField: "subscription")),
        ReconcileRule(
            collection: "subscriptionChanges", resource: "subscription change", statuses: ["failed"],
            timeFields: ["failedAt", "updatedAt", "createdAt"], impliedType: "com.gigs.subscriptionChange.failed",
            match: .dataID(subjectField: "subscription")),
    ]

    /// When `item` is in the state this rule looks for, the time of that state (Unix ms).
    func stateTime(of item: JSONValue) -> Int64? {
        if let statuses {
            guard let status = item["status"]?.string, statuses.contains(status) else { return nil }
        }
        for field in timeFields {
            if let text = item[field]?.string, let time = EventTime.milliseconds(text) { return time }
        }
        return nil
    }
}
