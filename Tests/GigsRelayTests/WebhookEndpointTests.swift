import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Logging
import Testing

/// The webhook endpoint's HTTP contract, driven in-process through the router.
@Suite("Webhook endpoint")
struct WebhookEndpointTests {
    let directory = TemporaryDirectory()
    let signer = TestSigner()
    let logs = InMemoryLogHandler()
    var logger: Logger { Logger(label: "test") { _ in logs } }

    /// Runs `body` against an application on a fresh store, then closes the store.
    func withApplication(
        maxBodyBytes: Int = 1_048_576,
        closeStoreFirst: Bool = false,
        _ body: @escaping @Sendable (any TestClientProtocol, SQLiteStore) async throws -> Void
    ) async throws {
        var configuration = RelayConfiguration(secrets: [.environment("UNUSED")])
        configuration.server.maxBodyBytes = maxBodyBytes
        configuration.store.path = directory.file("events.sqlite3")
        let store = try SQLiteStore(path: configuration.store.path, logger: logger)
        if closeStoreFirst { await store.close() }
        let verifier = SignatureVerifier(
            secrets: [try WebhookSecret(encoded: signer.encodedSecret)],
            toleranceSeconds: configuration.webhook.toleranceSeconds
        )
        let application = buildApplication(
            configuration: configuration,
            verifier: verifier,
            store: store,
            logger: logger
        )
        do {
            try await application.test(.router) { client in try await body(client, store) }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    func storedCount() throws -> Int {
        try EventLogReader(path: directory.file("events.sqlite3")).count()
    }

    /// The `{"error":{"code":…}}` of a response.
    static func errorCode(_ response: TestResponse) -> String? {
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        #expect(error?["message"] is String)
        return error?["code"] as? String
    }

    @Test("A genuine event is answered 202 accepted once it is stored, a repeat 200 duplicate")
    func acceptedThenDuplicate() async throws {
        defer { directory.remove() }
        let body = SampleEvents.subscriptionActivated(id: "evt_http")
        let headers = signer.headers(body: body)
        try await withApplication { client, _ in
            try await client.deliver(body, headers: headers) {
                #expect($0.status == .accepted)
                #expect($0.headers[.contentType] == "application/json")
                let json = try JSONSerialization.jsonObject(with: Data($0.body.readableBytesView)) as? [String: String]
                #expect(json == ["status": "accepted", "id": "evt_http"])
            }
            // Gigs retries with a new attempt timestamp and signature: still the same event.
            let retry = signer.headers(id: "msg_retry", body: body, spelling: "svix")
            try await client.deliver(body, headers: retry) {
                #expect($0.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data($0.body.readableBytesView)) as? [String: String]
                #expect(json == ["status": "duplicate", "id": "evt_http"])
            }
        }
        #expect(try storedCount() == 1)
    }

    @Test("Authentication failures are 401 with their codes, and nothing is stored")
    func unauthorized() async throws {
        defer { directory.remove() }
        let body = SampleEvents.subscriptionActivated()
        let now = Int64(Date().timeIntervalSince1970)
        var missing = signer.headers(body: body)
        missing[HTTPField.Name("webhook-signature")!] = nil
        let wrongSecret = TestSigner(secret: TestSigner.randomSecret()).headers(body: body)
        let stale = signer.headers(timestamp: now - 400, body: body)
        let future = signer.headers(timestamp: now + 400, body: body)
        var garbage = signer.headers(body: body)
        garbage[HTTPField.Name("webhook-signature")!] = "v1,%%%% v1,"
        var tamperedBody = body
        tamperedBody[10] = UInt8(ascii: "X")

        let cases: [(HTTPFields, [UInt8], String)] = [
            (missing, body, "missing_signature_headers"),
            (wrongSecret, body, "invalid_signature"),
            (stale, body, "timestamp_out_of_range"),
            (future, body, "timestamp_out_of_range"),
            (garbage, body, "invalid_signature"),
            (signer.headers(body: body), tamperedBody, "invalid_signature"),
        ]
        try await withApplication { client, _ in
            for (headers, requestBody, code) in cases {
                try await client.deliver(requestBody, headers: headers) {
                    #expect($0.status == .unauthorized)
                    #expect(Self.errorCode($0) == code)
                }
            }
        }
        #expect(try storedCount() == 0)
        let rejections = logs.entries.filter { $0.message == "Rejected webhook delivery" }
        #expect(rejections.count == cases.count)
        #expect(rejections.allSatisfy { $0.level == .warning })
        #expect(Set(rejections.compactMap { $0.metadata["relay.error.code"]?.description }) == Set(cases.map(\.2)))
    }

    @Test("A signed body that is not JSON, or not an event, is 400")
    func badRequest() async throws {
        defer { directory.remove() }
        let cases = [("{not json", "malformed_json"), (#"{"object":"event","id":"evt_1"}"#, "not_a_gigs_event")]
        try await withApplication { client, _ in
            for (text, code) in cases {
                let body = Array(text.utf8)
                try await client.deliver(body, headers: signer.headers(body: body)) {
                    #expect($0.status == .badRequest)
                    #expect(Self.errorCode($0) == code)
                }
            }
        }
        #expect(try storedCount() == 0)
    }

    @Test("A body over server.max_body_bytes is 413")
    func tooLarge() async throws {
        defer { directory.remove() }
        let body = SampleEvents.body(id: "evt_big", type: "com.gigs.x" + String(repeating: "x", count: 2000))
        try await withApplication(maxBodyBytes: 1024) { client, _ in
            try await client.deliver(body, headers: signer.headers(body: body)) {
                #expect($0.status == .contentTooLarge)
                #expect(Self.errorCode($0) == "payload_too_large")
            }
        }
        #expect(try storedCount() == 0)
    }

    @Test(
        "A content type other than JSON is 415",
        arguments: [
            "text/plain", "application/x-www-form-urlencoded", "application/jsonp", "text/json", "application/", nil,
        ]
    )
    func unsupportedMediaType(contentType: String?) async throws {
        defer { directory.remove() }
        let body = SampleEvents.subscriptionActivated()
        var fields = signer.headers(body: body)
        fields[.contentType] = contentType
        let headers = fields
        try await withApplication { client, _ in
            try await client.deliver(body, headers: headers) {
                #expect($0.status == .unsupportedMediaType)
                #expect(Self.errorCode($0) == "unsupported_media_type")
            }
        }
        #expect(try storedCount() == 0)
    }

    @Test("JSON content types with parameters or a +json suffix are accepted")
    func jsonContentTypes() async throws {
        defer { directory.remove() }
        try await withApplication { client, _ in
            for (index, contentType) in [
                "application/json; charset=utf-8", "Application/JSON", "application/cloudevents+json",
            ]
            .enumerated() {
                let body = SampleEvents.subscriptionActivated(id: "evt_ct\(index)")
                var headers = signer.headers(body: body)
                headers[.contentType] = contentType
                try await client.deliver(body, headers: headers) {
                    #expect($0.status == .accepted)
                }
            }
        }
        #expect(try storedCount() == 3)
    }

    @Test("Ids needing JSON escapes come back intact in the answer")
    func escapedIDs() async throws {
        defer { directory.remove() }
        let id = #"evt_"quoted"\back\slash/é"#
        let text = #"{"id":"evt_\"quoted\"\\back\\slash/é","type":"com.gigs.sim.created"}"#
        let body = Array(text.utf8)
        try await withApplication { client, _ in
            try await client.deliver(body, headers: signer.headers(body: body)) {
                #expect($0.status == .accepted)
                let json = try JSONSerialization.jsonObject(with: Data($0.body.readableBytesView)) as? [String: String]
                #expect(json == ["status": "accepted", "id": id])
            }
        }
    }

    @Test("Other methods on the webhook path are 405 with Allow: POST")
    func methodNotAllowed() async throws {
        defer { directory.remove() }
        try await withApplication { client, _ in
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                try await client.execute(uri: "/webhooks/gigs", method: method) {
                    #expect($0.status == .methodNotAllowed)
                    #expect($0.headers[.allow] == "POST")
                    #expect(Self.errorCode($0) == "method_not_allowed")
                }
            }
        }
    }

    @Test("When the store cannot write, ingest answers 503 with Retry-After, never 2xx")
    func storeUnavailable() async throws {
        defer { directory.remove() }
        let body = SampleEvents.subscriptionActivated()
        try await withApplication(closeStoreFirst: true) { client, _ in
            try await client.deliver(body, headers: signer.headers(body: body)) {
                #expect($0.status == .serviceUnavailable)
                #expect($0.headers[.retryAfter] == "5")
                #expect(Self.errorCode($0) == "store_unavailable")
            }
        }
        #expect(try storedCount() == 0)
    }

    @Test("GET /healthz is 200 while serving")
    func health() async throws {
        defer { directory.remove() }
        try await withApplication { client, _ in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}

extension TestClientProtocol {
    /// POSTs `body` to the webhook path with `headers` and hands the answer to `check`.
    func deliver(
        _ body: [UInt8],
        headers: HTTPFields,
        _ check: @escaping (TestResponse) async throws -> Void
    ) async throws {
        try await execute(
            uri: "/webhooks/gigs",
            method: .post,
            headers: headers,
            body: ByteBuffer(bytes: body),
            testCallback: check
        )
    }
}
