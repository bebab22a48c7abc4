import Foundation

/// Realistic Gigs event bodies for tests and benchmarks.
public enum SampleEvents {
    /// A `com.gigs.subscription.activated` event for an eSIM subscription, as raw JSON bytes.
    public static func subscriptionActivated(
        id: String = "evt_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))",
        project: String = "dev-project"
    ) -> [UInt8] {
        body(id: id, type: "com.gigs.subscription.activated", project: project)
    }

    /// A Gigs envelope of any type around a small subscription object.
    public static func body(id: String, type: String, project: String = "dev-project") -> [UInt8] {
        let json = """
            {"object":"event","id":"\(id)","type":"\(type)","project":"\(project)",\
            "source":"https://api.gigs.com","specversion":"1.0","time":"2026-11-23T10:00:00Z",\
            "datacontenttype":"application/json","version":"2025-05-22",\
            "data":{"object":"subscription","id":"sub_0SNlurA049MEWV2gSfSxi00xlPIi","status":"active",\
            "sim":{"object":"sim","id":"sim_0SNlurA049MEWV4OpCwsNyC9Kn2d","type":"eSIM"},\
            "user":{"object":"user","id":"usr_0SNlurA049MEWV3Kp0mA8Hhs1Ud8","email":"jane@example.com",\
            "fullName":"Jane Doe","preferredLocale":"en-US"}}}
            """
        return Array(json.utf8)
    }

    /// A `com.gigs.subscription.activated` event with a chosen SIM and user (raw JSON fragments).
    ///
    /// - Parameters:
    ///   - sim: the `data.sim` JSON, e.g. `{"object":"sim","id":"sim_1","type":"eSIM"}` or `null`.
    ///   - user: the `data.user` JSON: an embedded user object or a quoted user id.
    public static func subscription(id: String, subscription: String = "sub_1", sim: String, user: String) -> [UInt8] {
        Array(
            """
            {"object":"event","id":"\(id)","type":"com.gigs.subscription.activated","project":"dev-project",\
            "specversion":"1.0","time":"2026-11-23T10:00:00Z","version":"2025-05-22",\
            "data":{"object":"subscription","id":"\(subscription)","status":"active","sim":\(sim),"user":\(user)}}
            """.utf8
        )
    }

    /// An event of one subscription at a given `time`: `subscription.*` types carry it as `data.id`,
    /// `subscriptionChange.*` types as `data.subscription` (GIGS.md, section 8).
    public static func ofSubscription(
        id: String,
        subscription: String,
        time: String,
        type: String = "com.gigs.subscription.updated"
    ) -> [UInt8] {
        let data =
            type.hasPrefix("com.gigs.subscriptionChange.")
            ? #"{"object":"subscriptionChange","id":"sch_\#(id)","subscription":"\#(subscription)"}"#
            : #"{"object":"subscription","id":"\#(subscription)","status":"active"}"#
        return Array(
            """
            {"object":"event","id":"\(id)","type":"\(type)","project":"dev-project","specversion":"1.0",\
            "time":"\(time)","version":"2025-05-22","data":\(data)}
            """.utf8
        )
    }

    /// A `com.gigs.subscriptionChange.failed` event with the given failure code.
    public static func subscriptionChangeFailed(id: String, failureCode: String) -> [UInt8] {
        Array(
            """
            {"object":"event","id":"\(id)","type":"com.gigs.subscriptionChange.failed","project":"dev-project",\
            "specversion":"1.0","time":"2026-11-23T10:00:00Z","version":"2025-05-22",\
            "data":{"object":"subscriptionChange","id":"sch_0SNlurA049MEWV5xYz","status":"failed",\
            "failureCode":"\(failureCode)","plan":"pln_0SNlurA049MEWV6pLn","sim":null,\
            "subscription":"sub_0SNlurA049MEWV2gSfSxi00xlPIi","appliedAt":null,\
            "createdAt":"2026-11-23T09:00:00Z","scheduledAt":"2026-11-23T10:00:00Z"}}
            """.utf8
        )
    }

    /// A `com.gigs.subscriptionGroup.deleted` event carrying the group's last members.
    public static func subscriptionGroupDeleted(id: String, members: [String]) -> [UInt8] {
        let list = members.map { "\"\($0)\"" }.joined(separator: ",")
        return Array(
            """
            {"object":"event","id":"\(id)","type":"com.gigs.subscriptionGroup.deleted","project":"dev-project",\
            "specversion":"1.0","time":"2026-11-23T10:00:00Z","version":"2025-05-22",\
            "data":{"object":"subscriptionGroup","id":"sgr_0SNlurA049MEWV7gRp","subscriptions":[\(list)],\
            "createdAt":"2026-11-01T10:00:00Z"}}
            """.utf8
        )
    }
}
