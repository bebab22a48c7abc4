import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OTelSemanticConventions

/// Sends one signed JSON POST for a delivery and maps the answer to an outcome.
///
/// `webhook-id` is the delivery id (stable across retries of one delivery), `Idempotency-Key` is
/// ``DeliveryJob/idempotencyKey`` (`<event id>:<action>`, a replay adds `:replay-<delivery id>`). 2xx succeeds; 408, 429 and 5xx are retried (honouring `Retry-After`); other
/// 4xx are permanent; redirects are not followed and count as failures to retry.
struct SignedPoster: Sendable {
    let url: String
    let signer: WebhookSigner
    let headers: [String: String]
    let client: HTTPClient

    init(url: URL, secret: WebhookSecret, headers: [String: String] = [:], client: HTTPClient) {
        self.url = url.absoluteString
        self.signer = WebhookSigner(secret: secret)
        self.headers = headers
        self.client = client
    }

    /// - Parameter timeout: when given, the request's deadline; a request past it fails as a timeout.
    func post(_ body: [UInt8], for job: DeliveryJob, timeout: Duration? = nil) async -> ActionOutcome {
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (field, value) in headers { request.headers.add(name: field, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "User-Agent", value: "gigs-relay")
        request.headers.replaceOrAdd(name: "webhook-id", value: job.id.description)
        request.headers.replaceOrAdd(name: "webhook-timestamp", value: String(timestamp))
        request.headers.replaceOrAdd(
            name: "webhook-signature",
            value: signer.signature(id: job.id.description, timestamp: timestamp, body: body)
        )
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: job.idempotencyKey)
        if job.isOutOfOrder { request.headers.replaceOrAdd(name: "Gigs-Relay-Out-Of-Order", value: "true") }
        if job.isReconciled { request.headers.replaceOrAdd(name: "Gigs-Relay-Reconciled", value: "true") }
        // The attempt's span, so that the downstream's own spans join the event's trace.
        for field in job.trace?.context?.headers ?? [] {
            request.headers.replaceOrAdd(name: field.name, value: field.value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let deadline = timeout.map { NIODeadline.now() + .nanoseconds(Int64($0.wholeMilliseconds) * 1_000_000) }
            let response = try await client.execute(request, deadline: deadline ?? .distantFuture)
            // Read (and drop) a bounded answer so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            job.trace?.set(OTelAttribute.http.response.statusCode, Int(response.status.code))
            return Self.outcome(status: Int(response.status.code), headers: response.headers)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return .retryable(error: "timed out after \(timeout?.components.seconds ?? 0) s")
        } catch {
            return .retryable(error: "request failed: \(shortDescription(of: error))")
        }
    }
}

extension SignedPoster {
    /// Maps an HTTP answer to an outcome.
    static func outcome(status: Int, headers: HTTPHeaders) -> ActionOutcome {
        switch status {
        case 200..<300:
            return .success()
        case 408, 429, 500..<600:
            return .retryable(
                error: "HTTP \(status)",
                retryAfter: headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
            )
        case 300..<400:
            return .retryable(error: "HTTP \(status) (redirects are not followed)")
        default:
            return .permanent(error: "HTTP \(status)")
        }
    }
}
