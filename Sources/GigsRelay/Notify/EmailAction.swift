/// `kind = "email"`: renders the event through the action's Mustache templates (the event type's own,
/// else `default`) and mails it to the fixed `to` addresses.
///
/// The template sees the whole event: `{{type}}`, `{{id}}`, `{{data.failureCode}}`,
/// `{{#data.subscriptions}}…{{/data.subscriptions}}`.
public struct EmailAction: DeliveryAction {
    private let mailer: Mailer
    private let to: [MailAddress]
    private let templates: MailTemplateFolder

    init(mailer: Mailer, to: [MailAddress], templates: MailTemplateFolder) {
        self.mailer = mailer
        self.to = to
        self.templates = templates
    }

    public func perform(_ job: DeliveryJob) async -> ActionOutcome {
        guard let event = TemplateValue.parse(job.body)?.context else {
            return .permanent(error: "the stored event is not JSON")
        }
        guard let template = templates.set(forFirstOf: [job.eventType, "default"]) else {
            return .permanent(error: "no template for \(job.eventType) and no default in \(templates.path)")
        }
        let parts = template.render(event)
        return await mailer.send(to: to, subject: parts.subject, text: parts.text, html: parts.html, for: job)
    }
}

/// Builds and submits one message for a delivery and maps the result to an outcome.
struct Mailer: Sendable {
    let client: SMTPClient
    let from: MailAddress

    func send(to: [MailAddress], subject: String, text: String, html: String?, for job: DeliveryJob) async
        -> ActionOutcome
    {
        let message = MailMessage(
            from: from, to: to, subject: subject, text: text, html: html, messageID: messageID(for: job))
        do {
            try await client.send(message)
            return .success()
        } catch {
            return error.isRetryable ? .retryable(error: error.description) : .permanent(error: error.description)
        }
    }

    /// The same for every attempt of a delivery, so a message sent twice (a reply lost after the server
    /// accepted it) can be recognised as one.
    private func messageID(for job: DeliveryJob) -> String {
        let event = job.eventID.rawValue.unicodeScalars.filter {
            $0.isASCII
                && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-_".unicodeScalars.contains($0))
        }
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "gigs-relay.invalid"
        return "gigs-relay.\(job.id).\(String(String.UnicodeScalarView(event.prefix(64))))@\(domain)"
    }
}
