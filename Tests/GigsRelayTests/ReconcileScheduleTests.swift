import Foundation
import GigsRelay
import GigsRelayTesting
import NIOHTTP1
import Testing

/// `[reconcile]`: the daemon reconciling on a schedule, against the fake Gigs API of
/// ``ReconcileProcessTests`` and its seeded store (3 activations and 2 applied changes missing).
@Suite("Reconciliation on a schedule (real binary)")
struct ReconcileScheduleTests {
    let reconcile = ReconcileProcessTests()
    static let token = "admin-" + UUID().uuidString

    /// The scheduled runs recorded once `condition` holds of them (newest first).
    func scheduledRuns(
        _ fixture: DaemonFixture, timeout: Duration = .seconds(60), until condition: ([ReconcileRun]) -> Bool
    ) async throws -> [ReconcileRun] {
        var runs: [ReconcileRun] = []
        try await eventuallyAsync(timeout: timeout, "the scheduled runs") {
            runs = try await fixture.reading { try await $0.reconcileRuns(limit: 20) }.filter {
                $0.trigger == .schedule
            }
            return condition(runs)
        }
        return runs
    }

    /// The sum over `expositions` of the metric line starting with `name`.
    static func metric(_ name: String, in expositions: [String]) -> Double {
        expositions.flatMap { $0.split(separator: "\n") }.filter { $0.hasPrefix(name + " ") }.compactMap {
            $0.split(separator: " ").last.flatMap { Double($0) }
        }.reduce(0, +)
    }

    @Test(
        "Scheduled with emit: one run per interval over instances and restarts, stand-ins delivered once, counted, logged, listed",
        arguments: Backend.allCases)
    func runsOncePerInterval(backend: Backend) async throws {
        let api = try await ReconcileProcessTests.api(pageLimit: 50)
        let receiver = try WebhookReceiver(secret: ReconcileProcessTests.actionSecret)
        let fixture = try await reconcile.seededFixture(
            api, backend: backend, receiver: receiver,
            more: """
                [reconcile]
                interval = "1h"
                emit = true
                [admin]
                token = "env:ADMIN_TOKEN"
                """)
        defer { fixture.directory.remove() }
        let environment = [
            "ACTION_SECRET": ReconcileProcessTests.actionSecret, "GIGS_API_TOKEN": api.token,
            "ADMIN_TOKEN": Self.token,
        ]
        // PostgreSQL: two instances share the store and the schedule. SQLite: one, restarted below.
        var daemons = [try await fixture.start(environment: environment)]
        if backend == .postgresql { daemons.append(try await fixture.start(environment: environment)) }

        let runs = try await scheduledRuns(fixture) { $0.contains { $0.finishedAt != nil } }
        let run = try #require(runs.first)
        #expect(run.state == "complete" && run.missingCount == 5 && run.result?.emitted == 5, "\(run)")
        let requests = try await receiver.waitForRequests(5)
        #expect(requests.allSatisfy { $0.headers["gigs-relay-reconciled"] == "true" })

        // The instance that ran counts it; the others count nothing.
        func expositions() async throws -> [String] {
            var expositions: [String] = []
            for (_, address) in daemons {
                expositions.append(try await fixture.fetch("/metrics", from: address).body)
            }
            return expositions
        }
        let counted = try await expositions()
        #expect(Self.metric(#"gigs_relay_reconcile_runs_total{outcome="complete"}"#, in: counted) == 1)
        #expect(Self.metric("gigs_relay_reconcile_emitted_total", in: counted) == 5)
        #expect(Self.metric("gigs_relay_reconcile_missing", in: counted) == 5)
        #expect(Self.metric("gigs_relay_reconcile_api_errors_total", in: counted) == 0)
        #expect(Self.metric("gigs_relay_reconcile_last_success_timestamp_seconds", in: counted) > 1_700_000_000)
        let logs = daemons.map(\.0.log).joined()
        for resource in ReconcileProcessTests.missingActivations + ReconcileProcessTests.missingChanges {
            #expect(logs.contains("relay.reconcile.resource=\(resource)"), "a line for \(resource)")
        }
        #expect(!logs.contains(api.token))

        // Two more ticks of every instance (5 s each), and a restart: nobody runs again within the interval.
        try await Task.sleep(for: .seconds(6))
        if backend == .sqlite {
            try await daemons[0].0.stop()
            daemons[0] = try await fixture.start(environment: environment)
        }
        try await Task.sleep(for: .seconds(6))
        #expect(try await scheduledRuns(fixture) { _ in true }.count == 1)
        #expect(receiver.requests.count == 5)
        // One run read the subscriptions once: four pages of 50 and the one that reached the window.
        #expect(api.requests.filter { $0.contains("/subscriptions?") }.count == 5, "\(api.requests)")
        #expect(Self.metric(#"gigs_relay_reconcile_runs_total{outcome="complete"}"#, in: try await expositions()) <= 1)

        // The operator API and the console list the run with what it found and emitted.
        let bearer = ["Authorization": "Bearer \(Self.token)"]
        let listed = try await fixture.fetch("/api/v1/reconciliations", from: daemons[0].1, headers: bearer)
        #expect(listed.status == 200)
        let body = try #require(JSONValue(parsing: Array(listed.body.utf8)))
        guard case .array(let listedRuns)? = body["runs"], let first = listedRuns.first else {
            Issue.record("no runs in \(listed.body)")
            return
        }
        #expect(first["trigger"]?.string == "schedule" && first["state"]?.string == "complete")
        #expect(first["result"]?["emitted"] == .integer(5) && first["missingCount"] == .integer(5))
        #expect(!listed.body.contains("@example.com"), "no personal data in the record")
        let cookie = try await signIn(fixture, at: daemons[0].1)
        let page = try await fixture.exchange("/console/reconciliation", from: daemons[0].1, headers: cookie)
        #expect(page.status == 200)
        let standIn = StandIn.id(type: "com.gigs.subscription.activated", resource: "sub_007").rawValue
        #expect(page.body.contains(#"href="events/\#(standIn)""#), "\(page.body)")
        #expect(page.body.contains("<code>sch_30</code>"))
        #expect(!page.body.contains("@example.com"))
        for (daemon, _) in daemons { try await daemon.stop() }
    }

    @Test("A run the API fails (500s, then no answer) is recorded incomplete and tried again 15 s later")
    func retriesAfterAnIncompleteRun() async throws {
        let api = try await ReconcileProcessTests.api(pageLimit: 100)
        let fixture = try await reconcile.seededFixture(
            api, backend: .sqlite, more: "[reconcile]\ninterval = \"1h\"\n")
        defer { fixture.directory.remove() }
        // The second page fails: 500, 429 with Retry-After, then no answer within the 2 s timeout.
        api.fail(after: 1, with: [(500, 0), (429, 1), (0, 10)])
        let (daemon, address) = try await fixture.start(environment: ["GIGS_API_TOKEN": api.token])

        let finished = try? await scheduledRuns(fixture, timeout: .seconds(60)) { runs in
            runs.count >= 2 && runs.allSatisfy { $0.finishedAt != nil }
        }
        var runs = finished ?? []
        if finished == nil { runs = try await scheduledRuns(fixture) { _ in true } }
        #expect(runs.count == 2, "\(runs)\n\(daemon.log.suffix(4000))")
        guard runs.count >= 2 else { return }
        let (retry, failed) = (runs[0], runs[1])
        #expect(failed.state == "incomplete", "\(failed)")
        #expect(failed.result?.incomplete?.contains("did not answer within 2 s") == true)
        // What the pages read before the failure found is kept; nothing was emitted (emit is off).
        #expect(failed.result?.missing.map(\.resource) == ["sub_007"] && failed.result?.emitted == nil)
        #expect(retry.state == "complete" && retry.missingCount == 5, "\(retry)")
        let waited = retry.startedAt - (failed.finishedAt ?? 0)
        #expect(waited >= 15_000 && waited < 30_000, "\(waited) ms")
        let metrics = [try await fixture.fetch("/metrics", from: address).body]
        #expect(Self.metric(#"gigs_relay_reconcile_runs_total{outcome="incomplete"}"#, in: metrics) == 1)
        #expect(Self.metric(#"gigs_relay_reconcile_runs_total{outcome="complete"}"#, in: metrics) == 1)
        #expect(Self.metric("gigs_relay_reconcile_api_errors_total", in: metrics) == 3)
        #expect(daemon.log.contains("Reconciliation run incomplete"))
        #expect(!daemon.log.contains(api.token))
        try await daemon.stop()
    }

    @Test(
        "A run under way when the daemon stops is recorded as stopped, so the next start does not wait for it",
        arguments: Backend.allCases)
    func shutdownRecordsTheRun(backend: Backend) async throws {
        let api = try await ReconcileProcessTests.api(pageLimit: 100)
        let fixture = try await reconcile.seededFixture(api, backend: backend, more: "[reconcile]\n")
        defer { fixture.directory.remove() }
        api.fail(after: 0, with: [(0, 30)])  // the first page never answers
        let (daemon, _) = try await fixture.start(environment: ["GIGS_API_TOKEN": api.token])
        _ = try await scheduledRuns(fixture) { !$0.isEmpty }
        try await daemon.stop()
        let runs = try await scheduledRuns(fixture) { _ in true }
        #expect(runs.count == 1 && runs[0].state == "incomplete", "\(runs)")
        #expect(runs[0].result?.incomplete?.contains("shutdown") == true, "\(runs)")
        // Restarted: due again 15 s after it ended, not only once it counts as abandoned (30 minutes).
        let schedule = ReconcileSchedule(interval: 3_600_000, retry: 15_000, abandonedAfter: 1_800_000)
        #expect(schedule.isDue(after: runs[0], now: (runs[0].finishedAt ?? 0) + 15_000))
    }

    /// A console session's cookie header, signed in with ``token``.
    func signIn(_ fixture: DaemonFixture, at address: String) async throws -> [String: String] {
        let form = try await fixture.exchange("/console/sign-in", from: address)
        let nonce = try #require(ConsoleProcessTests.cookie("gigs_relay_sign_in", in: form.headers)?.value)
        let signedIn = try await fixture.exchange(
            "/console/sign-in", from: address, method: .POST, headers: ["Cookie": "gigs_relay_sign_in=\(nonce)"],
            form: [("nonce", nonce), ("token", Self.token)])
        let session = try #require(ConsoleProcessTests.cookie("gigs_relay_session", in: signedIn.headers)?.value)
        return ["Cookie": "gigs_relay_session=\(session)"]
    }
}
