import Foundation

/// A realistic Gigs event for `gigs-relay send` (like `stripe trigger`): the CloudEvents envelope of
/// GIGS.md §3 around a `data` object shaped like the resource the type names, with ids shaped like
/// Gigs ids (`evt_`, `sub_`, `sim_`, … and 28 base-62 characters).
public struct TestEvent {
    /// The types with a hand-made `data` shape; any other `com.gigs.*` type gets a generic resource.
    public static let knownTypes = [
        "com.gigs.subscription.activated", "com.gigs.subscription.created", "com.gigs.subscription.renewed",
        "com.gigs.subscription.ended", "com.gigs.subscription.canceled", "com.gigs.subscriptionChange.applied",
        "com.gigs.subscriptionChange.failed", "com.gigs.subscriptionGroup.created",
        "com.gigs.subscriptionGroup.updated", "com.gigs.subscriptionGroup.deleted",
    ]

    /// Why an event could not be built.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// The event as a JSON object.
    public private(set) var object: [String: Any]

    /// The event id (`evt_…`).
    public var id: String { object["id"] as? String ?? "" }

    /// Builds an event of `type` for `project`.
    public init(type: String, project: String = "dev-project", now: Date = Date()) throws(Failure) {
        guard type.hasPrefix("com.gigs."), type.split(separator: ".").count >= 4 else {
            throw Failure(description: "\(type) is not a Gigs event type (com.gigs.RESOURCE.ACTION)")
        }
        let time = now.formatted(.iso8601)
        object = [
            "object": "event", "id": Self.id("evt"), "type": type, "project": project,
            "source": "https://api.gigs.com", "specversion": "1.0", "time": time,
            "datacontenttype": "application/json", "version": "2025-05-22",
            "data": Self.data(for: type, time: time),
        ]
    }

    /// Sets `path` (dotted, e.g. `data.sim.type`) to `value`: JSON when it parses as JSON (`null`, `42`,
    /// `{"a":1}`), else the text itself.
    public mutating func set(_ path: String, to value: String) throws(Failure) {
        let keys = path.split(separator: ".").map(String.init)
        guard !keys.isEmpty, !keys.contains(where: \.isEmpty) else {
            throw Failure(description: "--set needs KEY=VALUE with a dotted key such as data.sim.type, got \(path)")
        }
        let parsed =
            (try? JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])) ?? value
        object = Self.setting(keys[...], to: parsed, in: object)
    }

    /// The event's JSON bytes (keys sorted, so the output is stable).
    public var body: [UInt8] {
        Array(
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data())
    }

    private static func setting(_ keys: ArraySlice<String>, to value: Any, in object: [String: Any]) -> [String: Any] {
        var object = object
        guard let key = keys.first else { return object }
        if keys.count == 1 {
            object[key] = value
        } else {
            object[key] = setting(keys.dropFirst(), to: value, in: object[key] as? [String: Any] ?? [:])
        }
        return object
    }

    /// `PREFIX_` and 28 base-62 characters, like `sub_0SNlurA049MEWV2gSfSxi00xlPIi`.
    static func id(_ prefix: String) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        return prefix + "_" + String((0..<28).map { _ in alphabet.randomElement()! })
    }

    private static func data(for type: String, time: String) -> [String: Any] {
        let parts = type.split(separator: ".")
        let resource = String(parts[2])
        let action = String(parts[3])
        switch resource {
        case "subscription":
            let status = ["activated": "active", "created": "pending", "ended": "ended", "canceled": "canceled"]
            return [
                "object": "subscription", "id": id("sub"), "status": status[action] ?? "active",
                "plan": id("pln"), "createdAt": time,
                "sim": ["object": "sim", "id": id("sim"), "type": "eSIM", "iccid": "89883070000012345678"],
                "user": [
                    "object": "user", "id": id("usr"), "email": "jane.doe@example.com", "fullName": "Jane Doe",
                    "preferredLocale": "en-US",
                ],
            ]
        case "subscriptionChange":
            return [
                "object": "subscriptionChange", "id": id("sch"), "status": action == "failed" ? "failed" : "applied",
                "failureCode": action == "failed" ? "plan_unavailable" : NSNull(), "plan": id("pln"),
                "sim": NSNull(), "subscription": id("sub"), "appliedAt": action == "failed" ? NSNull() : time,
                "createdAt": time, "scheduledAt": time,
            ]
        case "subscriptionGroup":
            return [
                "object": "subscriptionGroup", "id": id("sgr"), "subscriptions": [id("sub"), id("sub")],
                "createdAt": time,
            ]
        default:
            let prefix = String(resource.prefix(3)).lowercased()
            return ["object": resource, "id": id(prefix), "createdAt": time]
        }
    }
}
