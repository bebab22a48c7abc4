/// `kind = "email"`: renders the event through the action's Mustache templates (the event type's own,
/// else `default`) and mails it to the fixed `to` addresses.
///
/// The template sees the whole event: `{{type}}`, `{{id}}`, `{{data.failureCode}}`,
/// `{{#data.subscriptions}}…{{/data.subscriptions}}`, and `{{#gigsRelay.reconciled}}…{{/gigsRelay.reconciled}}`
/// for a reconciled stand-in.
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
