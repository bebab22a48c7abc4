import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Builds gigs-relay's JSON answers, including the error body `{"error":{"code":…,"message":…}}`.
enum JSONResponse {
    /// A JSON response with `body` encoded (keys sorted, so answers are byte-for-byte stable).
    static func make(status: HTTPResponse.Status, body: some Encodable, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(body)) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The 202 `{"id":…,"status":"accepted"}` or 200 `{"id":…,"status":"duplicate"}` answer.
    ///
    /// Written by hand rather than through `JSONEncoder`: it is on every successful request.
    static func stored(_ id: EventID, result: AppendResult) -> Response {
        var json = #"{"id":"#
        appendQuoted(id.rawValue, to: &json)
        json += result == .accepted ? #","status":"accepted"}"# : #","status":"duplicate"}"#
        return Response(
            status: result == .accepted ? .accepted : .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json))
        )
    }

    /// Appends `text` as a JSON string literal, escaping what RFC 8259 requires.
    static func appendQuoted(_ text: String, to json: inout String) {
        json.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json.append("\\\"")
            case "\\": json.append("\\\\")
            case "\n": json.append("\\n")
            case "\r": json.append("\\r")
            case "\t": json.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: json.unicodeScalars.append(scalar)
            }
        }
        json.append("\"")
    }

    /// The answer for an ingest error, with `Retry-After`, `Allow` or `Connection: close` where they apply.
    static func error(_ error: IngestError) -> Response {
        var headers: HTTPFields = [:]
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = "\(seconds)" }
        switch error.status {
        case .methodNotAllowed: headers[.allow] = "POST"
        // The rest of an oversized body is not read: the connection ends after this answer.
        case .contentTooLarge: headers[.connection] = "close"
        default: break
        }
        return make(
            status: error.status,
            body: ErrorBody(code: error.label, message: error.message),
            headers: headers
        )
    }
}
