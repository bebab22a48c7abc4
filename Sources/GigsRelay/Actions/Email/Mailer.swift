import OTelSemanticConventions

/// Builds and submits one message for a delivery and maps the result to an outcome.
struct Mailer: Sendable {
    let client: SMTPClient
    let from: MailAddress

    func send(to: [MailAddress], subject: String, text: String, html: String?, for job: DeliveryJob) async
        -> ActionOutcome
    {
        let message = MailMessage(
            from: from, to: to, subject: subject, text: text, html: html, messageID: messageID(for: job))
        do throws(SMTPError) {
            // The SMTP session, beneath the attempt when it is traced (never the message or the login).
            try await job.traced("SMTP session", attributes: [(OTelAttribute.network.`protocol`.name, "smtp")]) {
                () async throws(SMTPError) in try await client.send(message)
            }
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
