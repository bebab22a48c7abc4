import Foundation
import GigsRelayTesting
import NIOCore
import NIOEmbedded
import Testing

@testable import GigsRelay

@Suite("Mail: addresses, MIME, SMTP replies, templates")
struct MailTests {
    @Test("Addresses parse with and without a display name; anything that could inject a header is refused")
    func addresses() throws {
        let ops = try #require(MailAddress(parsing: "Ops Team <ops@example.com>"))
        #expect(ops.address == "ops@example.com")
        #expect(ops.displayName == "Ops Team")
        #expect(ops.headerValue == "\"Ops Team\" <ops@example.com>")
        #expect(MailAddress(parsing: "jane@example.com")?.headerValue == "<jane@example.com>")
        for bad in [
            "jane@example.com\r\nBcc: eve@example.com", "jane", "@example.com", "jane@", "a b@example.com",
            "jane@example.com>", "<jane@example.com", "jane@@example.com", "jane@example.com.",
        ] {
            #expect(MailAddress(parsing: bad) == nil, "accepted \(bad.debugDescription)")
        }
        #expect(MailAddress(address: "jane@example.com", displayName: "Jane\r\nBcc: eve@example.com") == nil)
    }

    @Test("Non-ASCII subjects and names become RFC 2047 words; control characters cannot start a header")
    func headerEncoding() throws {
        #expect(MailHeader.unstructured("Ihre eSIM\r\nBcc: eve@example.com") == "Ihre eSIM  Bcc: eve@example.com")
        let encoded = MailHeader.unstructured(String(repeating: "Grüße ", count: 12))
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        var decoded = Data()
        for word in words {
            #expect(word.count <= 75)
            #expect(word.hasPrefix("=?utf-8?B?") && word.hasSuffix("?="))
            decoded += try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
        }
        #expect(
            String(decoding: decoded, as: UTF8.self)
                == String(repeating: "Grüße ", count: 12).trimmingCharacters(in: .whitespaces))
        #expect(MailHeader.phrase("Jörg \"J\" Müller").hasPrefix("=?utf-8?B?"))
        #expect(MailHeader.phrase("Jane \"J\" Doe") == #""Jane \"J\" Doe""#)
        let folded = MailHeader.folded(
            name: "To", value: (1...8).map { "<user\($0)@example.com>" }.joined(separator: ", "))
        #expect(folded.components(separatedBy: "\r\n").allSatisfy { $0.count <= 78 })
        #expect(folded.replacingOccurrences(of: "\r\n", with: "").hasPrefix("To: <user1@example.com>, <user2@"))
    }

    @Test("Quoted-printable keeps lines within 76 characters and escapes what must be escaped")
    func quotedPrintable() {
        #expect(QuotedPrintable.encode("a=b ü\nend ") == "a=3Db =C3=BC\r\nend=20")
        let long = QuotedPrintable.encode(
            String(repeating: "é", count: 200) + "\n" + String(repeating: "x", count: 300))
        for line in long.components(separatedBy: "\r\n") { #expect(line.count <= 76) }
        let unfolded = long.replacingOccurrences(of: "=\r\n", with: "")
        #expect(unfolded.hasPrefix(String(repeating: "=C3=A9", count: 200) + "\r\nxxx"))
    }

    @Test("A rendered message is multipart text + HTML with CRLF line ends and no bare LF")
    func rendering() throws {
        let message = MailMessage(
            from: try #require(MailAddress(parsing: "Relay <relay@example.com>")),
            to: [try #require(MailAddress(parsing: "Jane <jane@example.com>"))],
            subject: "Hello", text: "line one\n.line two", html: "<p>hi</p>", messageID: "m1@example.com")
        let text = String(decoding: message.rendered(boundary: "B"), as: UTF8.self)
        #expect(text.contains("Content-Type: multipart/alternative; boundary=\"B\"\r\n"))
        #expect(text.contains("\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        #expect(text.contains("\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\n"))
        #expect(text.hasSuffix("\r\n--B--\r\n"))
        #expect(text.contains("Message-ID: <m1@example.com>\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test("DATA is dot-stuffed and ends with CRLF")
    func dotStuffing() {
        let stuffed = SMTPClient.dotStuffed(Array(".first\r\nmid\r\n.\r\n..two\r\nlast".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "..first\r\nmid\r\n..\r\n...two\r\nlast\r\n")
    }

    @Test("Multi-line replies are joined; a malformed reply is refused")
    func replies() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        try channel.writeInbound(ByteBuffer(string: "250-relay.test Hello\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"))
        let reply = try #require(try channel.readInbound(as: SMTPReply.self))
        #expect(reply.code == 250)
        #expect(reply.extensions == ["STARTTLS", "AUTH PLAIN LOGIN"])
        try channel.writeInbound(ByteBuffer(string: "221 bye\n"))
        #expect(try channel.readInbound(as: SMTPReply.self)?.code == 221)
        #expect(throws: (any Error).self) { try channel.writeInbound(ByteBuffer(string: "hello there\r\n")) }
        let long = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        #expect(throws: (any Error).self) {
            try long.writeInbound(ByteBuffer(string: "250-" + String(repeating: "x", count: 5000)))
        }
    }

    @Test("The shipped email templates cover the seed events; subject and text are not HTML-escaped")
    func shippedTemplates() throws {
        let folder = try MailTemplateFolder.load(
            Repository.path("config/templates/email"), key: "t", required: ["default"])
        #expect(
            folder.names == [
                "com.gigs.subscription.activated", "com.gigs.subscriptionChange.applied",
                "com.gigs.subscriptionChange.failed", "com.gigs.subscriptionGroup.created",
                "com.gigs.subscriptionGroup.deleted", "com.gigs.subscriptionGroup.updated", "default",
            ])
        let event = try #require(
            TemplateValue.parse(SampleEvents.subscriptionChangeFailed(id: "evt_1", failureCode: "<plan_unavailable>"))?
                .context)
        let parts = try #require(folder.set(forFirstOf: ["com.gigs.subscriptionChange.failed"])).render(event)
        #expect(parts.subject.contains("failed: <plan_unavailable>"))
        #expect(parts.text.contains("Failure code: <plan_unavailable>"))
        #expect(parts.html?.contains("&lt;plan_unavailable&gt;") == true)
        #expect(parts.html?.contains("<plan_unavailable>") == false)
        let group = try #require(
            TemplateValue.parse(SampleEvents.subscriptionGroupDeleted(id: "evt_2", members: ["sub_a", "sub_b"]))?
                .context)
        let deleted = try #require(folder.set(forFirstOf: ["com.gigs.subscriptionGroup.deleted"])).render(group)
        #expect(deleted.text.contains("- sub_a\n- sub_b\n"))
        #expect(!deleted.text.contains("(no members)"))
    }

    @Test("The built-in templates are config/templates byte for byte (deploy/generate-templates.py writes them)")
    func builtInTemplates() throws {
        for (folder, builtIn) in [("email", BuiltInTemplates.email), ("install-links", BuiltInTemplates.installLinks)] {
            let path = Repository.path("config/templates/\(folder)")
            let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            #expect(builtIn.keys.sorted() == names, "\(folder): run deploy/generate-templates.py")
            for name in names {
                let file = try String(contentsOfFile: "\(path)/\(name)", encoding: .utf8)
                #expect(builtIn[name] == file, "\(folder)/\(name) differs: run deploy/generate-templates.py")
            }
        }
    }

    @Test(
        "Without a folder the built-in templates serve; a folder overrides them file by file; a named folder must exist"
    )
    func overrides() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let missing = directory.file("nowhere")
        let builtIn = try MailTemplateFolder.load(
            missing, key: "k", required: ["en", "de"], builtIn: BuiltInTemplates.installLinks, folderRequired: false)
        #expect(builtIn.names == ["de", "en"])
        #expect(throws: ConfigurationError.self) {
            try MailTemplateFolder.load(
                missing, key: "k", required: ["en"], builtIn: BuiltInTemplates.installLinks, folderRequired: true)
        }
        try "Your eSIM, {{name}}".write(
            toFile: directory.file("en.subject.mustache"), atomically: true, encoding: .utf8)
        try "Hej {{name}}".write(toFile: directory.file("sv.subject.mustache"), atomically: true, encoding: .utf8)
        try "Hej".write(toFile: directory.file("sv.text.mustache"), atomically: true, encoding: .utf8)
        let overridden = try MailTemplateFolder.load(
            directory.path, key: "k", required: ["en"], builtIn: BuiltInTemplates.installLinks, folderRequired: true)
        #expect(overridden.names == ["de", "en", "sv"])
        let english = try #require(overridden.set(forFirstOf: ["en"])).render(["name": "Jane"])
        #expect(english.subject == "Your eSIM, Jane")
        // The parts not overridden stay the built-in ones.
        let shipped = try #require(builtIn.set(forFirstOf: ["en"])).render(["name": "Jane"])
        #expect(english.text == shipped.text && english.html == shipped.html)
        try "{{#open}}".write(toFile: directory.file("de.text.mustache"), atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) {
            try MailTemplateFolder.load(
                directory.path, key: "k", required: ["en"], builtIn: BuiltInTemplates.installLinks)
        }
        #expect(error?.description.contains("de.text.mustache") == true)
    }

    @Test("A template folder without the required default, or with a broken template, is a configuration error")
    func brokenTemplates() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try "Hi".write(toFile: directory.file("en.subject.mustache"), atomically: true, encoding: .utf8)
        try "Hi {{name}}".write(toFile: directory.file("en.text.mustache"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) {
            try MailTemplateFolder.load(directory.path, key: "k", required: ["de"])
        }
        _ = try MailTemplateFolder.load(directory.path, key: "k", required: ["en"])
        try "{{#open}}".write(toFile: directory.file("en.html.mustache"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) {
            try MailTemplateFolder.load(directory.path, key: "k", required: ["en"])
        }
    }
}
