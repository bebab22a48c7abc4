import Hummingbird

/// Counts every answer by route and status, and times webhook deliveries (POSTs).
///
/// The route label is the endpoint's name (`webhook`, `healthz`, `readyz`, `metrics`) or `unmatched`,
/// never the requested path, so scanners cannot grow the label set.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RelayMetrics
    /// Endpoint path → route label.
    let routes: [String: String]
    /// The label whose requests are timed for the ingest histogram.
    static var webhookRoute: String { "webhook" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let route =
            context.endpointPath.flatMap {
                routes[$0] ?? ($0.hasPrefix("/api/v1/") ? "api" : $0.hasPrefix("/console") ? "console" : nil)
            } ?? "unmatched"
        do {
            let response = try await next(request, context)
            metrics.countRequest(route: route, status: Int(response.status.code))
            // Only deliveries: the watchdog's GET probe of the webhook path is not an ingest.
            if route == Self.webhookRoute && request.method == .post {
                metrics.recordIngest(ContinuousClock.now - started)
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            metrics.countRequest(route: route, status: Int(status.code))
            throw error
        }
    }
}
