import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `kind = "http"`: POSTs the stored raw event to a URL, signed with Standard Webhooks headers.
///
/// The HTTP client enforces the attempt's timeout itself (a request deadline), so the dispatcher does
/// not race the attempt against a timer of its own: one fewer task and timer per delivery.
public struct HTTPAction: DeliveryAction {
    private let poster: SignedPoster
    private let timeout: Duration

    /// - Parameter headers: `settings.headers` with their secret references read.
    public init(
        settings: HTTPActionSettings,
        secret: WebhookSecret,
        headers: [String: String],
        timeout: Duration,
        client: HTTPClient
    ) {
        self.poster = SignedPoster(url: settings.url, secret: secret, headers: headers, client: client)
        self.timeout = timeout
    }

    public var enforcesTimeout: Bool { true }

    public func perform(_ job: DeliveryJob) async -> ActionOutcome {
        await poster.post(job.body, for: job, timeout: timeout)
    }
}
