import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// `gigs-relay reconcile` against the real binary and a fake Gigs API serving lists in pages.
@Suite("Reconciliation (real binary)")
struct ReconcileProcessTests {
    /// RFC 3339, `minutesAgo` minutes before now.
    static func time(_ minutesAgo: Int) -> String {
        Timestamp.iso8601(milliseconds: unixMilliseconds() - Int64(minutesAgo) * 60_000)
    }

    /// 200 subscriptions in the window, newest first, each created `10 × i` minutes ago and activated a
    /// minute later; `sub_010` has ended since, `sub_020` never activated. Then three created long before
    /// the window, where the listing stops. Unknown fields and nulls throughout.
    static let subscriptions: [String] =
        (0..<200).map { index in
            let id = String(format: "sub_%03d", index)
            let created = time(10 * index + 2)
            switch index {
            case 10:
                return #"{"object":"subscription","id":"\#(id)","status":"ended","createdAt":"\#(created)","#
                    + #""activatedAt":"\#(time(10 * index + 1))","endedAt":"\#(time(1))","sim":null,"user":null}"#
            case 20:
                return #"{"object":"subscription","id":"\#(id)","status":"pending","createdAt":"\#(created)","#
                    + #""activatedAt":null,"sim":null,"plan":{"id":"pln_1","future":[1,2]}}"#
            default:
                return #"{"object":"subscription","id":"\#(id)","status":"active","createdAt":"\#(created)","#
                    + #""activatedAt":"\#(time(10 * index + 1))","sim":{"id":"sim_\#(index)","type":"eSIM"},"#
                    + #""user":{"id":"usr_\#(index)","email":"u\#(index)@example.com"},"somethingNew":true}"#
            }
        }
        + (0..<3).map { index in
            #"{"object":"subscription","id":"sub_old\#(index)","status":"active","createdAt":"\#(time(6000 + index))","#
                + #""activatedAt":"\#(time(6000 + index))"}"#
        }

    /// 40 applied changes, `sch_NN` of `sub_0NN`, except that `sch_30` and `sch_31` both change
    /// `sub_031`; and one still pending.
    static let changes: [String] =
        [
            #"{"object":"subscriptionChange","id":"sch_pending","status":"pending","subscription":"sub_001","#
                + #""createdAt":"\#(time(1))","appliedAt":null}"#
        ]
        + (0..<40).map { index in
            let subscription = String(format: "sub_%03d", index == 30 ? 31 : index)
            return #"{"object":"subscriptionChange","id":"\#(String(format: "sch_%02d", index))","status":"applied","#
                + #""subscription":"\#(subscription)","createdAt":"\#(time(5 * index + 2))","#
                + #""appliedAt":"\#(time(5 * index + 1))","failureCode":null}"#
        }

    static let missingActivations = ["sub_007", "sub_100", "sub_150"]
    static let missingChanges = ["sch_05", "sch_30"]

    /// A store holding the webhooks for every implied event but ``missingActivations`` and
    /// ``missingChanges``.
    static func seed(_ fixture: DaemonFixture) async throws {
        try await fixture.seed { log in
            for index in 0..<200 where index != 20 {
                let id = String(format: "sub_%03d", index)
                guard !missingActivations.contains(id) else { continue }
                let body = SampleEvents.ofSubscription(
                    id: "evt_act_\(index)", subscription: id, time: time(10 * index + 1),
                    type: "com.gigs.subscription.activated")
                _ = try await log.append(
                    try fixture.signer.verifiedEvent(id: "evt_act_\(index)", body: body), actions: [])
            }
            let ended = SampleEvents.ofSubscription(
                id: "evt_end_10", subscription: "sub_010", time: time(1), type: "com.gigs.subscription.ended")
            _ = try await log.append(try fixture.signer.verifiedEvent(id: "evt_end_10", body: ended), actions: [])
            for index in 0..<40 {
                let id = String(format: "%02d", index)
                guard !missingChanges.contains("sch_\(id)") else { continue }
                // ofSubscription names the change sch_<id>.
                let body = SampleEvents.ofSubscription(
                    id: id, subscription: String(format: "sub_%03d", index == 31 ? 31 : index),
                    time: time(5 * index + 1), type: "com.gigs.subscriptionChange.applied")
                _ = try await log.append(try fixture.signer.verifiedEvent(id: "evt_sch_\(id)", body: body), actions: [])
            }
        }
    }

    /// The fake API serving ``subscriptions`` and ``changes``, at most `pageLimit` a page.
    static func api(pageLimit: Int) async throws -> FakeGigsAPI {
        try await FakeGigsAPI(
            documents: [:], lists: ["subscriptions": subscriptions, "subscriptionChanges": changes],
            pageLimit: pageLimit)
    }

    /// A fixture reading `api`, its store seeded (``seed(_:)``), routing to `receiver` when given.
    ///
    /// - Parameter more: more configuration (`[reconcile]`, `[admin]`).
    func seededFixture(
        _ api: FakeGigsAPI, backend: Backend, receiver: WebhookReceiver? = nil, more: String = ""
    ) async throws -> DaemonFixture {
        let fixture = try fixture(api, backend: backend, receiver: receiver, more: more)
        try await Self.seed(fixture)
        return fixture
    }

    func fixture(_ api: FakeGigsAPI, backend: Backend, receiver: WebhookReceiver? = nil, more: String = "") throws
        -> DaemonFixture
    {
        let routed =
            receiver.map { receiver in
                """
                [actions.downstream]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [[routes]]
                events = ["com.gigs.subscription.activated", "com.gigs.subscriptionChange.applied"]
                actions = ["downstream"]
                """
            } ?? ""
        return try DaemonFixture(
            backend: backend,
            extraTOML: """
                [gigs]
                api_url = "\(api.url)"
                project = "\(api.project)"
                token = "env:GIGS_API_TOKEN"
                timeout_seconds = 2
                \(routed)
                \(more)
                """)
    }

    static let actionSecret = "whsec_" + Data("reconcile test action secret!!".utf8).base64EncodedString()

    func reconcile(_ fixture: DaemonFixture, api: FakeGigsAPI, _ arguments: [String] = [])
        async throws -> (status: Int32, output: String)
    {
        try await RelayProcess.run(
            ["reconcile"] + arguments + ["--config", fixture.configPath], directory: fixture.directory.path,
            environment: fixture.environment.merging(["GIGS_API_TOKEN": api.token, "ACTION_SECRET": Self.actionSecret])
            {
                $1
            })
    }

    @Test(
        "--emit stores one stand-in per missing event, routed and marked; a second run emits nothing; the late genuine webhook is kept, not dispatched",
        arguments: Backend.allCases)
    func emitsStandIns(backend: Backend) async throws {
        let api = try await Self.api(pageLimit: 50)
        let receiver = try WebhookReceiver(secret: Self.actionSecret)
        let fixture = try await seededFixture(api, backend: backend, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: [
            "ACTION_SECRET": Self.actionSecret, "GIGS_API_TOKEN": api.token,
        ])

        let first = try await reconcile(fixture, api: api, ["--emit"])
        #expect(first.status == 1, "\(first.output)")
        #expect(first.output.contains("emitted 5 reconciled events"), "\(first.output)")
        // The daemon delivers them like webhooks, signed, marked, and with the API's resource as data.
        let requests = try await receiver.waitForRequests(5)
        #expect(requests.count == 5)
        #expect(requests.allSatisfy { $0.verified == true && $0.headers["gigs-relay-reconciled"] == "true" })
        let activation = try #require(requests.first { $0.body.contains(#""id":"sub_007""#) })
        let sent = try #require(JSONValue(parsing: Array(activation.body.utf8)))
        #expect(sent["type"]?.string == "com.gigs.subscription.activated")
        #expect(sent["id"]?.string == StandIn.id(type: "com.gigs.subscription.activated", resource: "sub_007").rawValue)
        #expect(sent["data"]?["sim"]?["type"]?.string == "eSIM")
        #expect(sent["data"]?["user"]?["email"]?.string == "u7@example.com")
        #expect(sent["time"]?.string?.hasSuffix("Z") == true)
        #expect(sent["gigsRelay"]?["reason"]?.string?.contains("sub_007") == true)
        let listed = try await fixture.cli(["events", "list", "--type", "com.gigs.subscription.activated", "--json"])
        let views = try JSONDecoder().decode([EventView].self, from: Data(listed.output.utf8))
        #expect(views.filter(\.reconciled).count == 3, "\(listed.output)")

        // Stand-ins are found like webhooks: nothing is missing, nothing more is stored.
        let second = try await reconcile(fixture, api: api, ["--emit"])
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("0 missing"))
        #expect(second.output.contains("emitted 0 reconciled events"))

        // Gigs' own late retry of one of them: acknowledged and stored, never dispatched, pointing to it.
        let late = SampleEvents.ofSubscription(
            id: "evt_late_007", subscription: "sub_007", time: Self.time(70), type: "com.gigs.subscription.activated")
        #expect(try await fixture.post(late, to: address) == 202)
        let stored = try await fixture.cli(["events", "show", "evt_late_007", "--json"])
        let detail = try JSONDecoder().decode(EventDetailView.self, from: Data(stored.output.utf8))
        #expect(
            detail.supersededBy == StandIn.id(type: "com.gigs.subscription.activated", resource: "sub_007").rawValue)
        #expect(detail.deliveries.isEmpty)
        // A webhook with no stand-in is dispatched as ever.
        let other = SampleEvents.ofSubscription(
            id: "evt_new_900", subscription: "sub_900", time: Self.time(0), type: "com.gigs.subscription.activated")
        #expect(try await fixture.post(other, to: address) == 202)
        let after = try await receiver.waitForRequests(6)
        #expect(after.count == 6)
        #expect(!after.contains { $0.body.contains("evt_late_007") })
        #expect(after.last?.headers["gigs-relay-reconciled"] == nil)
        try await daemon.stop()
    }

    /// The SIM credentials the fake API holds for `sim_N`: every string unique to its user.
    static func credentials(_ index: Int) -> String {
        """
        {"object":"simCredentials","sim":"sim_\(index)","activationCode":"LPA:1$smdp.example$CODE-\(index)",\
        "iosInstallUrl":"https://esim.example/ios/IOS-\(index)","androidInstallUrl":"https://esim.example/android/AND-\(index)",\
        "qrCodeUrl":"https://esim.example/qr/QR-\(index)"}
        """
    }

    @Test(
        "Install links from stand-ins: the 3 users whose activations Gigs never delivered are mailed once; the late webhook mails nobody",
        arguments: Backend.allCases)
    func mailsInstallLinksFromStandIns(backend: Backend) async throws {
        let indexes = [7, 100, 150]
        let api = try await FakeGigsAPI(
            documents: Dictionary(
                uniqueKeysWithValues: indexes.map { ("sims/sim_\($0)/credentials", Self.credentials($0)) }),
            lists: ["subscriptions": Self.subscriptions, "subscriptionChanges": Self.changes], pageLimit: 50)
        let smtp = try SMTPReceiver()
        let fixture = try await seededFixture(
            api, backend: backend,
            more: """
                \(smtp.configurationTOML(from: "Example Mobile <noreply@example.com>"))
                [actions.install-links]
                kind = "esim-install-links"
                channel = "email"
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["install-links"]
                """)
        defer { fixture.directory.remove() }
        let environment = ["GIGS_API_TOKEN": api.token, "SMTP_PASSWORD": smtp.password]
        let (daemon, address) = try await fixture.start(environment: environment)

        let first = try await reconcile(fixture, api: api, ["--emit"])
        #expect(first.status == 1 && first.output.contains("emitted 5 reconciled events"), "\(first.output)")
        let mails = try await smtp.waitForMessages(3)
        #expect(Set(mails.flatMap(\.rcptTos)) == Set(indexes.map { "u\($0)@example.com" }))
        for mail in mails {
            let index = try #require(indexes.first { mail.rcptTos == ["u\($0)@example.com"] })
            let text = try #require(mail.text)
            for part in ["IOS-\(index)", "AND-\(index)", "QR-\(index)", "CODE-\(index)"] {
                #expect(text.contains(part), "\(part) in the mail to u\(index)")
            }
            #expect(mail.tls)
        }
        #expect(api.requests.filter { $0.hasSuffix("/credentials") }.count == 3)
        try await eventuallyAsync("the three deliveries succeeded") {
            try await fixture.deliveries(DeliveryFilter()).filter { $0.status == .succeeded }.count == 3
        }

        // A second run finds them stored and emits nothing; the late genuine webhook is kept, never mailed.
        let second = try await reconcile(fixture, api: api, ["--emit"])
        #expect(second.status == 0 && second.output.contains("emitted 0 reconciled events"), "\(second.output)")
        let late = SampleEvents.subscription(
            id: "evt_late_7", subscription: "sub_007", sim: #"{"object":"sim","id":"sim_7","type":"eSIM"}"#,
            user: #"{"object":"user","id":"usr_7","email":"u7@example.com","fullName":"User Seven"}"#)
        #expect(try await fixture.post(late, to: address) == 202)
        let stored = try await fixture.cli(["events", "show", "evt_late_7", "--json"])
        let detail = try JSONDecoder().decode(EventDetailView.self, from: Data(stored.output.utf8))
        #expect(
            detail.supersededBy == StandIn.id(type: "com.gigs.subscription.activated", resource: "sub_007").rawValue)
        #expect(detail.deliveries.isEmpty)
        try await Task.sleep(for: .seconds(2))
        #expect(smtp.messages.count == 3, "nobody is mailed twice")
        #expect(api.requests.filter { $0.hasSuffix("/credentials") }.count == 3)
        for index in indexes { #expect(!daemon.log.contains("CODE-\(index)")) }
        try await daemon.stop()
    }

    @Test(
        "Missing activations and applied changes are named exactly, across pages; the listing stops at the window",
        arguments: Backend.allCases)
    func findsWhatIsMissing(backend: Backend) async throws {
        let api = try await Self.api(pageLimit: 30)
        let fixture = try await seededFixture(api, backend: backend)
        defer { fixture.directory.remove() }

        let text = try await reconcile(fixture, api: api, ["--since", "72h"])
        #expect(text.status == 1, "\(text.output)")
        let named = Set(
            text.output.split(separator: "\n").filter { $0.hasPrefix("missing ") }.compactMap {
                $0.split(separator: " ").dropFirst(3).first.map(String.init)
            })
        #expect(named == Set(Self.missingActivations + Self.missingChanges), "\(text.output)")
        #expect(text.output.contains("missing com.gigs.subscription.activated for sub_007 at "))
        #expect(text.output.contains("missing com.gigs.subscriptionChange.applied for sch_30 at "))
        #expect(text.output.contains("read 241 resources since "), "\(text.output)")
        #expect(text.output.contains("240 events expected, 235 found, 5 missing"), "\(text.output)")
        #expect(!text.output.contains(api.token))
        // Pages of 30 walked by cursor; the list that reached the window's start was not read further.
        let subscriptionPages = api.requests.filter { $0.contains("/subscriptions?") }
        #expect(subscriptionPages.count == 7, "\(subscriptionPages)")
        #expect(subscriptionPages.allSatisfy { $0.contains("limit=200") })
        #expect(subscriptionPages.dropFirst().allSatisfy { $0.contains("after=sub_") })

        let json = try await reconcile(fixture, api: api, ["--json"])
        #expect(json.status == 1)
        let result = try JSONDecoder().decode(Reconciliation.self, from: Data(json.output.utf8))
        #expect(result.incomplete == nil)
        #expect(result.missing.map(\.resource).sorted() == (Self.missingActivations + Self.missingChanges).sorted())
        #expect(result.missing.allSatisfy { !$0.reason.isEmpty && $0.time.hasSuffix("Z") })

        // A short window holds only the newest resources, all of whose events are stored.
        let recent = try await reconcile(fixture, api: api, ["--since", "5m"])
        #expect(recent.status == 0, "\(recent.output)")
        #expect(recent.output.contains(" 0 missing"))
    }

    @Test(
        "The API failing mid-listing (500, 429 with Retry-After, no answer): exit 2 with the partial result, only what was read emitted"
    )
    func partialWhenTheAPIFails() async throws {
        let api = try await Self.api(pageLimit: 100)
        let fixture = try await seededFixture(api, backend: .sqlite)
        defer { fixture.directory.remove() }
        api.fail(after: 1, with: [(500, 0), (429, 1), (0, 10)])

        let started = ContinuousClock.now
        let result = try await reconcile(fixture, api: api, ["--json", "--emit"])
        #expect(result.status == 2, "\(result.output)")
        #expect(ContinuousClock.now - started > .seconds(1), "waited as Retry-After said")
        let jsonLine = try #require(result.output.split(separator: "\n").first { $0.hasPrefix("{") })
        let partial = try JSONDecoder().decode(Reconciliation.self, from: Data(jsonLine.utf8))
        #expect(partial.incomplete?.contains("did not answer within 2 s") == true, "\(result.output)")
        // The first page was read and compared: its missing activation is reported; nothing later.
        #expect(partial.resourcesRead == 100)
        #expect(partial.missing.map(\.resource) == ["sub_007"])
        #expect(result.output.contains("could not be read completely"))
        // What was read is emitted; nothing for the pages that were not.
        #expect(partial.emitted == 1)
        let standIns = try await fixture.reading { try await $0.events(EventFilter(idPrefix: "evt_reconciled_")) }
        #expect(standIns.map(\.subject) == ["sub_007"])
    }
}
