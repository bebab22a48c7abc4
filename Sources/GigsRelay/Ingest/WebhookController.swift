import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OTelSemanticConventions
import Tracing

/// The webhook endpoint: checks the request's shape, verifies the signature, stores the event and
/// answers only once it is durable.
///
/// Order of checks: method (405), content type (415), declared length (413, before any body byte is
/// read), signature headers (401), room in `server.max_body_bytes_in_flight` (503), body up to the limit
/// (413), timestamp and signature (401; 429 instead
/// once the client failed too often), envelope (400), store with one delivery per routed action (202
/// accepted, 200 duplicate, 503 when it cannot write).
struct WebhookController<Context: RemoteAddressRequestContext>: Sendable {
    /// The secrets and routes in effect (a reload replaces them).
    let live: LiveSettings
    let store: any EventLog
    let maxBodyBytes: Int
    let rejectionLog: LogThrottle
    let metrics: RelayMetrics
    /// Who the client is (behind trusted proxies, from `X-Forwarded-For`).
    let clients: ClientAddress
    /// Clients that failed signature checks too often get 429 for a while.
    let limiter: FailedVerificationLimiter
    /// Body bytes all requests may hold at once.
    let bodyBudget: BodyBudget
    /// A server span per request when `[tracing]` is on, with the store append beneath it.
    let tracing: RelayTracing
    /// `webhook.path`, the span's route.
    let path: String

    /// Registers POST on `path`, and 405 for the other common methods there.
    func addRoutes(to router: Router<Context>, path: String) {
        let routerPath = RouterPath(path)
        router.post(routerPath) { request, context in
            await self.receive(request, context: context)
        }
        let otherMethods: [HTTPRequest.Method] = [.get, .head, .put, .patch, .delete, .options]
        for method in otherMethods {
            router.on(routerPath, method: method) { _, _ in
                JSONResponse.error(.methodNotAllowed)
            }
        }
    }

    /// Handles one delivery; every failure becomes its JSON error answer.
    ///
    /// Verification comes first, the failed-verification limit after: a correctly signed request always
    /// goes through, whoever else shares its address (Svix's senders are shared by every Svix customer),
    /// and only a request that fails verification counts against its client. A client over its budget
    /// gets 429 instead of 401 for such requests until its window ends.
    func receive(_ request: Request, context: Context) async -> Response {
        guard tracing.isOn else { return await answer(request, context: context, span: nil) }
        let span = tracing.startSpan(
            "POST \(path)", kind: .server, parent: tracing.context(of: request.headers))
        span?.attributes[OTelAttribute.http.request.method] = "POST"
        span?.attributes[OTelAttribute.http.route] = path
        span?.attributes[OTelAttribute.url.path] = path
        let response = await answer(request, context: context, span: span)
        span?.attributes[OTelAttribute.http.response.statusCode] = Int(response.status.code)
        if response.status.code >= 500 {
            span?.attributes[OTelAttribute.error.type] = String(response.status.code)
            span?.setStatus(SpanStatus(code: .error))
        }
        span?.end()
        return response
    }

    /// The answer to one delivery, described on `span` when it is traced.
    private func answer(_ request: Request, context: Context, span: (any Span)?) async -> Response {
        do throws(IngestError) {
            let (event, result) = try await ingest(request, span: span)
            metrics.countSecretMatch(index: event.secretIndex)
            metrics.countEvent(type: event.type, duplicate: result == .duplicate)
            span?.attributes[TraceAttribute.duplicate] = result == .duplicate
            if context.logger.logLevel <= .debug {
                var metadata: Logger.Metadata = [LogKey.eventID: "\(event.id)", LogKey.eventType: "\(event.type)"]
                if let trace = event.traceContext { metadata[LogKey.traceID] = "\(trace.traceID)" }
                context.logger.debug(
                    result == .accepted ? "Event stored" : "Duplicate event acknowledged", metadata: metadata)
            }
            return JSONResponse.stored(event.id, result: result)
        } catch {
            span?.attributes[TraceAttribute.verification] = error.label
            // Who the client is matters only to the limiter and to the log of a refusal.
            let client = clients.resolve(peer: context.remoteAddress, headers: request.headers)
            var refusal = error
            if error.isAuthenticationFailure {
                let now = unixMilliseconds()
                if let wait = limiter.blockedFor(client, now: now) {
                    refusal = .tooManyFailedVerifications(retryAfter: wait)
                }
                limiter.recordFailure(client, now: now)
            }
            metrics.countRejection(reason: refusal.label)
            log(refusal, client: client, logger: context.logger)
            return JSONResponse.error(refusal)
        }
    }

    private func ingest(_ request: Request, span: (any Span)?) async throws(IngestError) -> (
        VerifiedEvent, AppendResult
    ) {
        guard Self.isJSON(request.headers[.contentType]) else { throw .unsupportedMediaType }
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > maxBodyBytes {
            throw .payloadTooLarge(limit: maxBodyBytes)
        }
        let headers = try WebhookHeaders(fields: request.headers)
        let reserved = declared ?? maxBodyBytes
        guard bodyBudget.reserve(reserved) else { throw .serverBusy }
        defer { bodyBudget.release(reserved) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw .payloadTooLarge(limit: maxBodyBytes)
        } catch {
            throw .incompleteBody
        }
        span?.attributes[TraceAttribute.requestBodySize] = body.readableBytes
        let settings = live.snapshot
        var event = try settings.verifier.verify(headers: headers, body: Array(body.readableBytesView))
        let deliveries = settings.routes.deliveries(for: event, settings: settings.settings)
        guard let span else {
            do {
                return (event, try await store.append(event, deliveries: deliveries))
            } catch {
                throw .storeUnavailable
            }
        }
        span.attributes[TraceAttribute.verification] = "verified"
        span.attributes[TraceAttribute.eventID] = event.id.rawValue
        span.attributes[TraceAttribute.eventType] = event.type
        if let subject = event.subject { span.attributes[TraceAttribute.eventSubject] = subject }
        // The event keeps the ingest span's context: its attempts continue this trace.
        event.traceContext = tracing.traceContext(of: span)
        let probe = GroupCommitProbe()
        event.groupCommit = probe
        let append = tracing.startSpan("store append", kind: .internal, parent: span.context)
        defer {
            append?.attributes[TraceAttribute.batchSize] = probe.batchSize
            append?.end()
        }
        do {
            return (event, try await store.append(event, deliveries: deliveries))
        } catch {
            append?.setStatus(SpanStatus(code: .error))
            throw .storeUnavailable
        }
    }

    /// Whether a Content-Type names JSON (`application/json` or `application/*+json`, any case, any parameters).
    ///
    /// Compares bytes without allocating: it runs on every request.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        var mediaType = contentType.utf8[...]
        if let semicolon = mediaType.firstIndex(of: UInt8(ascii: ";")) {
            mediaType = mediaType[..<semicolon]
        }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let last = mediaType.last, isSpace(last) { mediaType = mediaType.dropLast() }
        while let first = mediaType.first, isSpace(first) { mediaType = mediaType.dropFirst() }
        let application = "application/".utf8
        guard mediaType.count > application.count,
            zip(mediaType, application).allSatisfy({ lowercased($0) == $1 })
        else { return false }
        let json = "json".utf8
        let subtype = mediaType.dropFirst(application.count)
        guard subtype.count >= json.count, zip(subtype.suffix(json.count), json).allSatisfy({ lowercased($0) == $1 })
        else { return false }
        return subtype.count == json.count || subtype.dropLast(json.count).last == UInt8(ascii: "+")
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// Logs a refusal, rate-limited: store failures as errors, authentication failures as warnings, the
    /// rest as info. The detail of a store failure is logged once per batch by the store itself.
    private func log(_ error: IngestError, client: String, logger: Logger) {
        let level: Logger.Level
        switch error {
        case .storeUnavailable: level = .error
        case _ where error.isAuthenticationFailure || error.status == .tooManyRequests: level = .warning
        default: level = .info
        }
        rejectionLog.log(
            logger: logger,
            level: level,
            "Rejected webhook delivery",
            metadata: [LogKey.errorCode: "\(error.label)", LogKey.clientAddress: "\(client)"]
        )
    }
}
