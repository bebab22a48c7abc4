import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// Routes with `where`: conditions on the payload by JSON pointer.
@Suite("Route filters")
struct RouteFilterTests {
    static let routesTOML = """
        [webhook]
        secrets = ["env:A"]
        [actions.links]
        kind = "exec"
        command = ["/bin/true"]
        [actions.plans]
        kind = "exec"
        command = ["/bin/true"]
        [actions.all]
        kind = "exec"
        command = ["/bin/true"]
        [[routes]]
        events = ["com.gigs.subscription.activated"]
        where = { "/data/sim/type" = "eSIM", "/data/plan/id" = ["pln_a", "pln_b"] }
        actions = ["links"]
        [[routes]]
        events = ["com.gigs.subscription.*"]
        where = { "/data/quantity" = 2, "/data/trial" = false, "/data/tags/1" = "vip", "/data/a~1b" = "slash" }
        actions = ["plans"]
        [[routes]]
        events = ["*"]
        actions = ["all"]
        """

    static func event(_ data: String, type: String = "com.gigs.subscription.activated") -> [UInt8] {
        Array(#"{"id":"evt_1","type":"\#(type)","data":\#(data)}"#.utf8)
    }

    @Test(
        "Equality with a value or any of a list, by JSON pointer; all conditions must hold; a missing field does not match",
        arguments: [
            (#"{"sim":{"type":"eSIM"},"plan":{"id":"pln_a"}}"#, ["links", "all"]),
            (#"{"sim":{"type":"eSIM"},"plan":{"id":"pln_b"}}"#, ["links", "all"]),
            (#"{"sim":{"type":"pSIM"},"plan":{"id":"pln_a"}}"#, ["all"]),
            (#"{"sim":{"type":"eSIM"},"plan":{"id":"pln_c"}}"#, ["all"]),
            (#"{"sim":{"type":"eSIM"}}"#, ["all"]),
            (#"{"sim":null,"plan":{"id":"pln_a"}}"#, ["all"]),
            (#"{"sim":{"type":["eSIM"]},"plan":{"id":"pln_a"}}"#, ["all"]),
            (#"{"sim":{"type":"esim"},"plan":{"id":"pln_a"}}"#, ["all"]),
            (#"{"quantity":2.0,"trial":false,"tags":["a","vip"],"a/b":"slash"}"#, ["plans", "all"]),
            (#"{"quantity":2,"trial":0,"tags":["a","vip"],"a/b":"slash"}"#, ["all"]),
            (#"{"quantity":"2","trial":false,"tags":["a","vip"],"a/b":"slash"}"#, ["all"]),
            (#"{"quantity":2,"trial":false,"tags":["vip"],"a/b":"slash"}"#, ["all"]),
            (#"{"quantity":2,"trial":false,"tags":{"1":"vip"},"a/b":"slash"}"#, ["plans", "all"]),
        ])
    func matching(data: String, expected: [String]) throws {
        let configuration = try RelayConfiguration(toml: Self.routesTOML)
        #expect(
            configuration.routes.actions(for: "com.gigs.subscription.activated", body: Self.event(data)) == expected)
    }

    @Test("Only routes of the event's type are read; malformed or non-object payloads match no filtered route")
    func malformed() throws {
        let routes = try RelayConfiguration(toml: Self.routesTOML).routes
        #expect(routes.actions(for: "com.gigs.other", body: Self.event("{}", type: "com.gigs.other")) == ["all"])
        #expect(routes.actions(for: "com.gigs.subscription.activated", body: Array("{not json".utf8)) == ["all"])
        #expect(routes.actions(for: "com.gigs.subscription.activated", body: Array("[1,2]".utf8)) == ["all"])
        #expect(routes.matching(type: "com.gigs.subscription.activated", body: Self.event("7")) == [2])
        // An array index with a leading zero is not an index (RFC 6901).
        let leadingZero = try TestConfigurations.execAction(
            then: """
                [[routes]]
                events = ["*"]
                where = { "/data/01" = "x", "/data/007" = "y" }
                actions = ["a"]
                """
        ).routes
        #expect(leadingZero.actions(for: "t", body: Self.event(#"["a","x"]"#)).isEmpty)
        #expect(leadingZero.actions(for: "t", body: Self.event(#"{"01":"x","007":"y"}"#)) == ["a"])
    }

    @Test("config check shows the filters as TOML that reads back the same")
    func effective() throws {
        let configuration = try RelayConfiguration(toml: Self.routesTOML)
        let shown = configuration.effectiveTOML
        #expect(shown.contains(#"where = { "/data/plan/id" = ["pln_a", "pln_b"], "/data/sim/type" = "eSIM" }"#))
        #expect(shown.contains(#""/data/quantity" = 2"#))
        #expect(shown.contains(#""/data/trial" = false"#))
        #expect(try RelayConfiguration(toml: shown).routes == configuration.routes)
    }

    @Test(
        "A bad where fails naming the key",
        arguments: [
            (#"where = { "data/sim" = "eSIM" }"#, "routes[0].where"),
            (#"where = { "/data/~2" = "eSIM" }"#, "routes[0].where"),
            (#"where = { "/data/sim" = { type = "eSIM" } }"#, "routes[0].where./data/sim"),
            (#"where = { "/data/sim" = [] }"#, "routes[0].where./data/sim"),
            (#"where = "eSIM""#, "routes[0].where"),
        ])
    func badFilters(line: String, key: String) throws {
        do {
            _ = try TestConfigurations.execAction(then: "[[routes]]\nevents = [\"*\"]\n\(line)\nactions = [\"a\"]")
            Issue.record("accepted: \(line)")
        } catch {
            #expect(error.key == key)
        }
    }
}

/// Filters with the real binary: an event that matches no route is stored and not dispatched, and
/// `replay --dry-run` shows what matches now.
@Suite("Route filters (real binary)", .serialized)
struct RouteFilterProcessTests {
    @Test("Matching payloads are delivered, others stored without deliveries; replay --dry-run shows the routes")
    func delivery() async throws {
        let secret = TestSigner.randomSecret()
        let receiver = try WebhookReceiver(secret: secret)
        let fixture = try DaemonFixture(
            extraTOML: """
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                where = { "/data/sim/type" = "eSIM", "/data/user" = ["usr_1", "usr_2"] }
                actions = ["backend"]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        let bodies = [
            ("evt_esim", SampleEvents.subscription(id: "evt_esim", sim: #"{"type":"eSIM"}"#, user: #""usr_1""#)),
            ("evt_psim", SampleEvents.subscription(id: "evt_psim", sim: #"{"type":"pSIM"}"#, user: #""usr_1""#)),
            ("evt_nosim", SampleEvents.subscription(id: "evt_nosim", sim: "null", user: #""usr_2""#)),
            ("evt_other", SampleEvents.subscription(id: "evt_other", sim: #"{"type":"eSIM"}"#, user: #""usr_3""#)),
            ("evt_second", SampleEvents.subscription(id: "evt_second", sim: #"{"type":"eSIM"}"#, user: #""usr_2""#)),
        ]
        for (_, body) in bodies {
            #expect(try await fixture.post(body, to: address) == 202)
        }
        let received = try await receiver.waitForRequests(2)
        let ids = Set(
            received.map { request in
                ["evt_esim", "evt_second"].first { request.body.contains("\"\($0)\"") } ?? request.body
            })
        #expect(ids == ["evt_esim", "evt_second"])
        let reader = try EventLogReader(path: fixture.storePath)
        try await eventually("both deliveries succeeded") {
            try reader.deliveries(DeliveryFilter()).filter { $0.status == .succeeded }.count == 2
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.requests.count == 2)
        #expect(try reader.deliveries(DeliveryFilter()).count == 2)
        #expect(try reader.list(limit: 10).count == 5)

        let (status, output) = try await fixture.cli(["replay", "--dry-run", "evt_esim", "evt_psim"])
        #expect(status == 0)
        #expect(output.contains("evt_esim (com.gigs.subscription.activated) matches route 1 now"))
        #expect(output.contains("would replay evt_esim → backend"))
        #expect(output.contains("evt_psim (com.gigs.subscription.activated) matches no route now"))
        #expect(output.contains("evt_psim: no route sends com.gigs.subscription.activated with this payload"))
        #expect(!output.contains("would replay evt_psim"))
        try await daemon.stop()
    }
}
