import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

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
