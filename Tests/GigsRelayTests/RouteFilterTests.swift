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
