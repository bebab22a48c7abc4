import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// `gigs-relay send` against the real binary.
@Suite("send: signed test events (real binary)", .serialized)
struct SendCommandTests {
    @Test("Every seed type is built, signed with the configured secret and stored; --set edits a field")
    func sendsEveryType() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let url = "http://\(address)/webhooks/gigs"
        for type in TestEvent.knownTypes {
            let sent = try await RelayProcess.run(
                ["send", type, "--url", url, "--config", fixture.configPath], directory: fixture.directory.path,
                environment: fixture.environment)
            #expect(sent.status == 0, "\(type): \(sent.output)")
            #expect(sent.output.contains(#"202 {"id":"evt_"#))
        }
        let reader = try EventLogReader(path: fixture.storePath)
        let stored = try reader.list(limit: 100)
        #expect(Set(stored.map(\.type)) == Set(TestEvent.knownTypes))
        for event in stored {
            #expect(event.id.rawValue.hasPrefix("evt_") && event.id.rawValue.count == 32)
        }

        let pSIM = try await RelayProcess.run(
            [
                "send", "com.gigs.subscription.activated", "--url", url, "--set", "data.sim.type=pSIM", "--set",
                "data.user.preferredLocale=de-DE", "--config", fixture.configPath,
            ], directory: fixture.directory.path, environment: fixture.environment)
        #expect(pSIM.status == 0)
        let newest = try #require(try reader.list(limit: 1).first)
        let body = String(decoding: try #require(try reader.event(id: newest.id)).body, as: UTF8.self)
        #expect(body.contains(#""type":"pSIM""#))
        #expect(body.contains(#""preferredLocale":"de-DE""#))
        try await daemon.stop()
    }

    @Test("--print prints a curl command that the daemon accepts as it is")
    func printsCurl() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let printed = try await RelayProcess.run(
            [
                "send", "com.gigs.subscriptionGroup.deleted", "--url", "http://\(address)/webhooks/gigs", "--print",
                "--config", fixture.configPath,
            ], directory: fixture.directory.path, environment: fixture.environment)
        #expect(printed.status == 0)
        let command = printed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(command.hasPrefix("curl -sS -X POST "))
        #expect(try EventLogReader(path: fixture.storePath).count() == 0)
        let answer = try runTool(["sh", "-c", command]).output
        #expect(answer.contains(#""status":"accepted""#))
        #expect(
            try EventLogReader(path: fixture.storePath).list(limit: 1).first?.type
                == "com.gigs.subscriptionGroup.deleted")
        try await daemon.stop()
    }
}
