import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

/// `gigs-relay prune` against a store the running daemon writes.
@Suite("prune (real binary)", .serialized)
struct PruneCommandTests {
    @Test("prune removes finished events, keeps dead ones unless asked, and says when nothing matched")
    func prune() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try DaemonFixture(
            extraTOML: """
                [actions.ok]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [actions.doomed]
                kind = "http"
                url = "http://127.0.0.1:9/nothing-listens"
                secret = "env:ACTION_SECRET"
                max_attempts = 1
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["ok"]
                [[routes]]
                events = ["com.gigs.subscriptionGroup.deleted"]
                actions = ["doomed"]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": TestSigner.randomSecret()])
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_ok"), to: address) == 202)
        #expect(
            try await fixture.post(SampleEvents.subscriptionGroupDeleted(id: "evt_dead", members: []), to: address)
                == 202)
        #expect(
            try await fixture.post(SampleEvents.body(id: "evt_other", type: "com.gigs.sim.created"), to: address) == 202
        )
        let reader = try EventLogReader(path: fixture.storePath)
        try await eventually("both deliveries finished") {
            Set(try reader.deliveries(DeliveryFilter()).map(\.status)) == [.succeeded, .dead]
        }

        #expect(try await fixture.cli(["prune", "--older-than", "1d", "--yes"]).status == 2)
        let unconfirmed = try await fixture.cli(["prune", "--older-than", "0s"])
        #expect(unconfirmed.status == 64)
        // An age beyond what milliseconds can count is a usage error, not a trap.
        let huge = try await fixture.cli(["prune", "--older-than", "99999999999999999d", "--yes"])
        #expect(huge.status == 64, "\(huge.output)")
        let pruned = try await fixture.cli(["prune", "--older-than", "0s", "--yes"])
        #expect(pruned.status == 0)
        #expect(pruned.output.contains("removed 2 events"))
        #expect(try reader.list(limit: 10).map(\.id.rawValue) == ["evt_dead"])
        let dry = try await fixture.cli(["prune", "--older-than", "0s", "--include-dead", "--dry-run"])
        #expect(dry.output.contains("would remove 1 events"))
        #expect(try reader.count() == 1)
        #expect(try await fixture.cli(["prune", "--older-than", "0s", "--include-dead", "--yes"]).status == 0)
        #expect(try reader.count() == 0)
        #expect(try reader.deliveries(DeliveryFilter()).isEmpty)
        try await daemon.stop()
    }
}
