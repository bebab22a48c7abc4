import HTTPTypes

/// Why a webhook delivery was refused, with the HTTP status and the stable machine code it is answered with.
///
/// Messages name what failed, never a secret, a signature or the body.
public struct IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case missingSignatureHeaders = "missing_signature_headers"
        case invalidSignatureHeaders = "invalid_signature_headers"
        case timestampOutOfRange = "timestamp_out_of_range"
        case invalidSignature = "invalid_signature"
        case malformedJSON = "malformed_json"
        case notAGigsEvent = "not_a_gigs_event"
        case incompleteBody = "incomplete_body"
        case payloadTooLarge = "payload_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case methodNotAllowed = "method_not_allowed"
        case storeUnavailable = "store_unavailable"
        case serverBusy = "server_busy"
        case tooManyFailedVerifications = "too_many_failed_verifications"
    }

    private let code: Code
    /// A readable sentence for the client and the log.
    public let message: String
    /// Seconds the client should wait before retrying (the `Retry-After` of 429 and 503 answers).
    public let retryAfterSeconds: Int?

    private init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The stable machine code of the JSON error body; also the bounded label for logs and metrics.
    public var label: String { code.rawValue }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Errors are equal when their codes are: messages may carry details.
    public static func == (lhs: IngestError, rhs: IngestError) -> Bool { lhs.code == rhs.code }

    /// The HTTP status this error is answered with.
    public var status: HTTPResponse.Status {
        switch code {
        case .missingSignatureHeaders, .invalidSignatureHeaders, .timestampOutOfRange, .invalidSignature:
            .unauthorized
        case .malformedJSON, .notAGigsEvent, .incompleteBody: .badRequest
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .methodNotAllowed: .methodNotAllowed
        case .storeUnavailable, .serverBusy: .serviceUnavailable
        case .tooManyFailedVerifications: .tooManyRequests
        }
    }

    /// Whether the failure is about the delivery's authenticity (logged as a warning, rate-limited).
    public var isAuthenticationFailure: Bool { status == .unauthorized }

    public static let missingSignatureHeaders = IngestError(
        .missingSignatureHeaders,
        "webhook-id, webhook-timestamp and webhook-signature (or svix-*) headers are required"
    )
    public static let invalidSignatureHeaders = IngestError(
        .invalidSignatureHeaders,
        "signature headers must appear once each and webhook-timestamp must be integer Unix seconds"
    )
    public static let timestampOutOfRange = IngestError(
        .timestampOutOfRange,
        "webhook-timestamp is too far from the receiver's clock"
    )
    public static let invalidSignature = IngestError(
        .invalidSignature,
        "no v1 signature matches any configured signing secret"
    )
    public static let malformedJSON = IngestError(.malformedJSON, "the body is not valid JSON")
    public static let notAGigsEvent = IngestError(
        .notAGigsEvent,
        "the body is not a Gigs event: a JSON object with string \"id\" and \"type\" is required"
    )
    public static let unsupportedMediaType = IngestError(
        .unsupportedMediaType,
        "Content-Type must be application/json"
    )
    public static let incompleteBody = IngestError(.incompleteBody, "the request body could not be read completely")
    public static let methodNotAllowed = IngestError(.methodNotAllowed, "only POST is allowed here")
    public static let storeUnavailable = IngestError(
        .storeUnavailable,
        "the event store cannot write right now; retry later",
        retryAfterSeconds: 5
    )

    /// Request bodies in flight would exceed `server.max_body_bytes_in_flight`.
    public static let serverBusy = IngestError(
        .serverBusy,
        "too many request bodies are being received right now; retry later",
        retryAfterSeconds: 1
    )

    /// The client failed signature checks too often lately; it may try again after `seconds`.
    public static func tooManyFailedVerifications(retryAfter seconds: Int) -> IngestError {
        IngestError(
            .tooManyFailedVerifications,
            "too many requests with failed signature checks from this client; retry later",
            retryAfterSeconds: seconds
        )
    }

    /// The body exceeds `server.max_body_bytes`.
    public static func payloadTooLarge(limit: Int) -> IngestError {
        IngestError(.payloadTooLarge, "the body exceeds the limit of \(limit) bytes")
    }
}
