import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// Dispatch end to end: the real binary, a real HTTP receiver (with an independent signature check),
/// real commands.
@Suite("Dispatch (real binary)", .serialized)
struct DispatchProcessTests {
    let actionSecret = TestSigner.randomSecret()

    /// A fixture routing subscription events to an http action at `receiver` (plus `extraTOML`).
    func fixture(
        _ backend: Backend = .sqlite,
        receiver: WebhookReceiver,
        dispatch: String = "",
        timeoutSeconds: Int = 5,
        extraTOML: String = "",
        actions: String = "\"backend\""
    ) throws -> DaemonFixture {
        try DaemonFixture(
            backend: backend,
            extraTOML: """
                [dispatch]
                backoff_initial_ms = 50
                backoff_max_ms = 200
                \(dispatch)
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                timeout_seconds = \(timeoutSeconds)
                \(extraTOML)
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = [\(actions)]
                """
        )
    }

    func deliveries(_ fixture: DaemonFixture, _ filter: DeliveryFilter = DeliveryFilter()) async throws
        -> [StoredDelivery]
    {
        try await fixture.deliveries(filter)
    }

    func start(_ fixture: DaemonFixture) async throws -> (RelayProcess, String) {
        try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
    }

    func stop(_ daemon: RelayProcess) async throws {
        try await daemon.stop()
    }

    @Test(
        "One event fans out to an http and an exec action; the outgoing signature verifies independently",
        arguments: Backend.allCases)
    func fanOut(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret)
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        let script = try scratch.writeScript(
            "hook.sh",
            """
            env | sort > "\(scratch.path)/env"
            cat > "\(scratch.path)/stdin"
            echo "hook ran"
            """
        )
        let fixture = try fixture(
            backend,
            receiver: receiver,
            extraTOML: """
                [actions.hook]
                kind = "exec"
                command = ["/bin/sh", "\(script)"]
                """,
            actions: "\"backend\", \"hook\""
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        let body = SampleEvents.subscriptionActivated(id: "evt_fan")
        #expect(try await fixture.post(body, to: address) == 202)

        try await eventuallyAsync("both deliveries succeeded") {
            try await deliveries(fixture).filter { $0.status == .succeeded }.count == 2
        }
        let request = try #require(try await receiver.waitForRequests(1).first)
        #expect(request.verified == true)
        #expect(request.body == String(decoding: body, as: UTF8.self))
        #expect(request.headers["idempotency-key"] == "evt_fan:backend")
        let backend = try #require(try await deliveries(fixture, DeliveryFilter(action: "backend")).first)
        #expect(request.headers["webhook-id"] == backend.id.description)

        #expect(
            try String(contentsOfFile: scratch.file("stdin"), encoding: .utf8) == String(decoding: body, as: UTF8.self))
        let environment = try String(contentsOfFile: scratch.file("env"), encoding: .utf8)
        #expect(environment.contains("GIGS_RELAY_EVENT_ID=evt_fan"))
        #expect(environment.contains("GIGS_RELAY_EVENT_TYPE=com.gigs.subscription.activated"))
        #expect(environment.contains("GIGS_RELAY_ATTEMPT=1"))
        // The daemon's own environment, which holds secrets here, is not handed to commands.
        #expect(!environment.contains("GIGS_WEBHOOK_SECRET") && !environment.contains("ACTION_SECRET"))
        #expect(!environment.contains(fixture.signer.encodedSecret) && !environment.contains(actionSecret))
        let hook = try #require(try await deliveries(fixture, DeliveryFilter(action: "hook")).first)
        #expect(environment.contains("GIGS_RELAY_DELIVERY_ID=\(hook.id)"))
        let attempts = try await fixture.attempts(of: hook.id)
        #expect(attempts.first?.output?.contains("hook ran") == true)

        // A duplicate delivery of the event creates no new deliveries.
        #expect(try await fixture.post(body, to: address) == 200)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await deliveries(fixture).count == 2)
        #expect(receiver.requests.count == 1)
        try await stop(daemon)
    }

    @Test("http headers may be secret references: sent resolved, shown by config check only as references")
    func secretHeaders() async throws {
        let receiver = try WebhookReceiver(secret: actionSecret)
        let token = "Bearer tok_\(UUID().uuidString)"
        let fixture = try fixture(
            receiver: receiver,
            extraTOML: #"headers = { "Authorization" = "env:BACKEND_TOKEN", "X-Team" = "platform" }"#
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: [
            "ACTION_SECRET": actionSecret, "BACKEND_TOKEN": token,
        ])
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_headers"), to: address) == 202)
        let request = try #require(try await receiver.waitForRequests(1).first)
        #expect(request.headers["authorization"] == token)
        #expect(request.headers["x-team"] == "platform")
        try await stop(daemon)
        #expect(!daemon.log.contains(token))
        let check = try await RelayProcess.run(
            ["config", "check", "--config", fixture.configPath], directory: fixture.directory.path,
            environment: [
                "ACTION_SECRET": actionSecret, "BACKEND_TOKEN": token,
                "GIGS_WEBHOOK_SECRET": "whsec_"
                    + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ])
        #expect(check.output.contains("env:BACKEND_TOKEN"))
        #expect(!check.output.contains(token))

        // A credential header with a literal value is refused: secrets never sit in the file.
        let literal = try self.fixture(receiver: receiver, extraTOML: #"headers = { "Authorization" = "Bearer x" }"#)
        defer { literal.directory.remove() }
        let refused = try await literal.cli(["config", "check"])
        #expect(refused.status == 1)  // config check: 1 for an invalid file
        #expect(refused.output.contains("headers.Authorization"))
    }

    @Test(
        "Failures are retried with backoff until the receiver accepts; one delivery id throughout",
        arguments: Backend.allCases)
    func retryThenSuccess(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret, statuses: "500 503 200")
        let fixture = try fixture(backend, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_retry"), to: address) == 202)

        try await eventuallyAsync("the delivery succeeded") {
            try await deliveries(fixture).first?.status == .succeeded
        }
        let requests = receiver.requests
        #expect(requests.map(\.status) == [500, 503, 200])
        #expect(Set(requests.compactMap { $0.headers["webhook-id"] }).count == 1)
        #expect(requests.allSatisfy { $0.verified == true })
        let delivery = try #require(try await deliveries(fixture).first)
        #expect(delivery.attempts == 3)
        let attempts = try await fixture.attempts(of: delivery.id)
        #expect(attempts.map(\.outcome) == ["failed", "failed", "succeeded"])
        #expect(attempts.first?.error == "HTTP 500")
        try await stop(daemon)
    }

    @Test("Out of attempts a delivery is dead; the CLI retries it and it succeeds", arguments: Backend.allCases)
    func deadThenRetriedByCLI(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret, statuses: "502")
        let fixture = try fixture(backend, receiver: receiver, dispatch: "max_attempts = 2")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_dead"), to: address) == 202)

        try await eventuallyAsync("the delivery is dead") { try await deliveries(fixture).first?.status == .dead }
        let dead = try #require(try await deliveries(fixture).first)
        #expect(dead.attempts == 2)
        #expect(dead.lastError == "HTTP 502 (attempt 2 of 2)")
        #expect(receiver.requests.count == 2)

        let listed = try await fixture.cli(["deliveries", "list", "--status", "dead", "--json"])
        #expect(listed.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(array.count == 1)
        #expect(array.first?["id"] as? String == dead.id.description)
        #expect(array.first?["eventId"] as? String == "evt_dead")
        #expect(array.first?["attemptCount"] as? Int == 2)
        #expect(array.first.map { $0.keys.contains("nextAttemptAt") && $0.keys.contains("lastError") } == true)

        try receiver.setStatuses("200")
        let refused = try await fixture.cli(["deliveries", "retry", "--all-dead"])
        #expect(refused.status == 64)
        let retried = try await fixture.cli(["deliveries", "retry", dead.id.description])
        #expect(retried.status == 0)
        try await eventuallyAsync("the retried delivery succeeded") {
            try await deliveries(fixture).first?.status == .succeeded
        }
        #expect(receiver.requests.count == 3)

        let nothing = try await fixture.cli(["deliveries", "retry", "--all-dead", "--yes"])
        #expect(nothing.status == 2)
        try await stop(daemon)
    }

    @Test("A 4xx answer is permanent: dead after one attempt", arguments: Backend.allCases)
    func permanentFailure(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret, statuses: "422")
        let fixture = try fixture(backend, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_4xx"), to: address) == 202)
        try await eventuallyAsync("the delivery is dead") { try await deliveries(fixture).first?.status == .dead }
        #expect(try await deliveries(fixture).first?.attempts == 1)
        #expect(try await deliveries(fixture).first?.lastError == "HTTP 422")
        try await stop(daemon)
    }

    @Test(
        "Replay creates a new delivery through the current routes, and the daemon runs it", arguments: Backend.allCases)
    func replay(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret)
        let fixture = try fixture(backend, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_replay"), to: address) == 202)
        #expect(
            try await fixture.post(SampleEvents.body(id: "evt_unrouted", type: "com.gigs.sim.created"), to: address)
                == 202)
        _ = try await receiver.waitForRequests(1)

        let dryRun = try await fixture.cli(["replay", "evt_replay", "--dry-run"])
        #expect(dryRun.status == 0)
        #expect(dryRun.output.contains("would replay evt_replay → backend"))
        let replayed = try await fixture.cli(["replay", "evt_replay"])
        #expect(replayed.status == 0)
        let requests = try await receiver.waitForRequests(2)
        // A replay is a deliberate re-delivery: its own Idempotency-Key, naming its delivery.
        #expect(requests[0].headers["idempotency-key"] == "evt_replay:backend")
        let replayID = try #require(requests[1].headers["webhook-id"]).dropFirst("dlv_".count)
        #expect(requests[1].headers["idempotency-key"] == "evt_replay:backend:replay-\(replayID)")
        #expect(requests[1].headers["webhook-id"] != requests[0].headers["webhook-id"])
        try await eventuallyAsync("the replay succeeded") {
            try await deliveries(fixture).contains { $0.isReplay && $0.status == .succeeded }
        }

        let unrouted = try await fixture.cli(["replay", "evt_unrouted"])
        #expect(unrouted.status == 2)
        let unknown = try await fixture.cli(["replay", "evt_missing"])
        #expect(unknown.status == 2)
        let bulk = try await fixture.cli([
            "replay", "--type", "com.gigs.subscription.activated", "--since", "2020-01-01T00:00:00Z",
        ])
        #expect(bulk.status == 64)
        let confirmed = try await fixture.cli([
            "replay", "--type", "com.gigs.subscription.activated", "--since", "2020-01-01T00:00:00Z", "--yes",
        ])
        #expect(confirmed.status == 0)
        _ = try await receiver.waitForRequests(3)
        try await stop(daemon)
    }

    @Test(
        "A delivery in flight when the daemon is SIGKILLed is delivered after restart once its lease expires",
        arguments: Backend.allCases)
    func leaseExpiryAfterKill(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret, delayFirstMilliseconds: 10_000)
        let fixture = try fixture(backend, receiver: receiver, dispatch: "lease_seconds = 4", timeoutSeconds: 3)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_lease"), to: address) == 202)
        _ = try await receiver.waitForRequests(1)
        daemon.signal(SIGKILL)
        #expect(try await daemon.waitForExit() == SIGKILL)
        #expect(try await deliveries(fixture).first?.status == .running)

        let (restarted, _) = try await start(fixture)
        try await eventuallyAsync(timeout: .seconds(20), "the delivery succeeded after restart") {
            try await deliveries(fixture).first?.status == .succeeded
        }
        let delivery = try #require(try await deliveries(fixture).first)
        #expect(delivery.attempts == 2)
        let attempts = try await fixture.attempts(of: delivery.id)
        #expect(attempts.map(\.outcome) == ["failed", "succeeded"])
        #expect(attempts.first?.error?.contains("lease expired") == true)
        let requests = receiver.requests
        #expect(requests.count == 2)
        #expect(Set(requests.compactMap { $0.headers["webhook-id"] }) == [delivery.id.description])
        try await stop(restarted)
    }

    @Test(
        "At shutdown a running attempt gets the grace period, then is released to pending and runs after restart",
        arguments: Backend.allCases)
    func shutdownReleasesRunningAttempt(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: actionSecret, delayFirstMilliseconds: 8000)
        let fixture = try fixture(
            backend, receiver: receiver, dispatch: "shutdown_grace_seconds = 1", timeoutSeconds: 20)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_shutdown"), to: address) == 202)
        _ = try await receiver.waitForRequests(1)
        let stopping = ContinuousClock.now
        try await daemon.stop()
        #expect(ContinuousClock.now - stopping < .seconds(6))
        let released = try #require(try await deliveries(fixture).first)
        #expect(released.status == .pending)
        #expect(released.attempts == 0)
        #expect(daemon.log.contains("Interrupting running deliveries at shutdown"))

        let (restarted, _) = try await start(fixture)
        try await eventuallyAsync("the released delivery succeeded after restart") {
            try await deliveries(fixture).first?.status == .succeeded
        }
        try await stop(restarted)
    }

    @Test("An exec attempt over its timeout is killed with its whole process group")
    func execTimeoutKillsProcessGroup() async throws {
        let receiver = try WebhookReceiver()
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        let script = try scratch.writeScript(
            "slow.sh",
            """
            sleep 60 &
            echo $! > "\(scratch.path)/grandchild"
            wait
            """
        )
        let fixture = try fixture(
            receiver: receiver,
            dispatch: "max_attempts = 1",
            extraTOML: """
                [actions.slow]
                kind = "exec"
                command = ["/bin/sh", "\(script)"]
                timeout_seconds = 1
                """,
            actions: "\"slow\""
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_slow"), to: address) == 202)
        try await eventuallyAsync("the slow delivery is dead") { try await deliveries(fixture).first?.status == .dead }
        #expect(try await deliveries(fixture).first?.lastError?.contains("timed out after 1 s") == true)
        let grandchild = try #require(
            Int32(
                try String(contentsOfFile: scratch.file("grandchild"), encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines))
        )
        try await eventually(timeout: .seconds(5), "the grandchild process to be gone") { kill(grandchild, 0) != 0 }
        try await stop(daemon)
    }
}
