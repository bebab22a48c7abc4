import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Builds gigs-relay's JSON answers, including the error body `{"error":{"code":…,"message":…}}`.
enum JSONResponse {
    /// Seconds a client is asked to wait before retrying a 503.
    static let retryAfterSeconds = 5

    private struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
        }
        let error: Detail
    }

    /// A JSON response with `body` encoded (keys sorted, so answers are byte-for-byte stable).
    static func make(status: HTTPResponse.Status, body: some Encodable, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(body)) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The answer for an ingest error, with `Retry-After`, `Allow` or `Connection: close` where they apply.
    static func error(_ error: IngestError) -> Response {
        var headers: HTTPFields = [:]
        switch error.status {
        case .serviceUnavailable: headers[.retryAfter] = "\(retryAfterSeconds)"
        case .methodNotAllowed: headers[.allow] = "POST"
        // The rest of an oversized body is not read: the connection ends after this answer.
        case .contentTooLarge: headers[.connection] = "close"
        default: break
        }
        return make(
            status: error.status,
            body: ErrorBody(error: .init(code: error.label, message: error.message)),
            headers: headers
        )
    }
}
