import Foundation

/// One email: headers and a `multipart/alternative` body (plain text, and HTML when given), rendered as
/// the bytes of an RFC 5322 message with CRLF line ends.
///
/// Both parts are UTF-8 in quoted-printable, so no line exceeds 76 characters whatever the template
/// produces. Header values are sanitised: a template or an event cannot add header lines.
struct MailMessage: Sendable {
    var from: MailAddress
    var to: [MailAddress]
    var subject: String
    var text: String
    var html: String?
    /// Without angle brackets; stable per delivery, so a message re-sent by a retry can be recognised.
    var messageID: String
    var date = Date()

    /// The message as sent after `DATA` (before dot-stuffing).
    func rendered(boundary: String = "=_gr_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))") -> [UInt8] {
        var headers = [
            ("From", from.headerValue),
            ("To", to.map(\.headerValue).joined(separator: ", ")),
            ("Subject", MailHeader.unstructured(subject)),
            ("Date", MailHeader.date(date)),
            ("Message-ID", "<\(messageID)>"),
            ("MIME-Version", "1.0"),
            ("Auto-Submitted", "auto-generated"),
        ]
        var body = ""
        if let html {
            headers.append(("Content-Type", "multipart/alternative; boundary=\"\(boundary)\""))
            body += "This is a multipart message in MIME format.\r\n"
            for (type, content) in [("text/plain", text), ("text/html", html)] {
                body += "\r\n--\(boundary)\r\n"
                body += "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                body += QuotedPrintable.encode(content)
            }
            body += "\r\n--\(boundary)--\r\n"
        } else {
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
            headers.append(("Content-Transfer-Encoding", "quoted-printable"))
            body = QuotedPrintable.encode(text) + "\r\n"
        }
        let head = headers.map { MailHeader.folded(name: $0.0, value: $0.1) + "\r\n" }.joined()
        return Array((head + "\r\n" + body).utf8)
    }
}

/// Header-value encoding (RFC 2047, RFC 5322).
enum MailHeader {
    /// Free text (a subject): control characters become spaces; non-ASCII text becomes encoded words.
    static func unstructured(_ text: String) -> String {
        let clean = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }
            )
        ).trimmingCharacters(in: .whitespaces)
        guard clean.unicodeScalars.allSatisfy({ $0.isASCII }) else { return encodedWords(clean) }
        return clean
    }

    /// A display name: quoted when ASCII, encoded words otherwise.
    static func phrase(_ text: String) -> String {
        guard text.unicodeScalars.allSatisfy({ $0.isASCII }) else { return unstructured(text) }
        let clean = unstructured(text)
        let escaped = clean.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }

    /// `=?utf-8?B?…?=` words of at most 75 characters, folded onto continuation lines.
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `Name: value`, folded at spaces onto continuation lines so lines stay within 78 characters where the
    /// words allow (values that already hold folds, such as encoded words, are left as they are).
    static func folded(name: String, value: String) -> String {
        let line = "\(name): \(value)"
        guard line.count > 78, !value.contains("\r\n") else { return line }
        var output = ""
        var current = ""
        for word in line.split(separator: " ", omittingEmptySubsequences: false) {
            if current.isEmpty {
                current = String(word)
            } else if current.count + 1 + word.count > 78 {
                output += current + "\r\n"
                current = " " + word
            } else {
                current += " " + word
            }
        }
        return output + current
    }

    /// RFC 5322 date in UTC, e.g. `Mon, 23 Nov 2026 12:00:00 +0000`.
    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// Quoted-printable encoding (RFC 2045 §6.7) of UTF-8 text with CRLF hard line breaks.
enum QuotedPrintable {
    static func encode(_ text: String) -> String {
        var output = ""
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { output += "\r\n" }
            var length = 0
            let bytes = Array(line.utf8)
            for (position, byte) in bytes.enumerated() {
                let isLast = position == bytes.count - 1
                let literal =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                    || ((byte == 32 || byte == 9) && !isLast)
                let piece = literal ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
                // Leave room for the soft break "=" (76 characters at most per line).
                if length + piece.count > 75 {
                    output += "=\r\n"
                    length = 0
                }
                output += piece
                length += piece.count
            }
        }
        return output
    }
}
