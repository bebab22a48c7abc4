import Foundation
import OTelSemanticConventions

/// `kind = "esim-install-links"`: for a subscription event whose SIM is an eSIM, fetches the SIM's
/// credentials from the Gigs API and delivers the install links to the subscription's user.
///
/// When the event carries no SIM or only a user id, the subscription or user is looked up. A pSIM is
/// `skipped` (`not_esim`); an event that is not about a subscription is `skipped` too. The credentials
/// exist only in memory during the attempt: they reach neither the store, nor logs, nor attempt errors.
public struct InstallLinksAction: DeliveryAction {
    /// Where the links go.
    enum Channel: Sendable {
        /// A signed JSON document POSTed to a URL.
        case http(SignedPoster)
        /// An email to the user, from the templates of the user's locale (else `defaultLocale`).
        case email(Mailer, templates: MailTemplateFolder, defaultLocale: String)
    }

    private let api: GigsAPIClient
    private let channel: Channel

    init(api: GigsAPIClient, channel: Channel) {
        self.api = api
        self.channel = channel
    }

    /// The parts of a subscription event this action reads.
    struct Event: Decodable {
        struct Subscription: Decodable {
            let object: String?
            let id: String
            let sim: GigsAPIClient.SIMReference?
            let user: GigsAPIClient.UserReference?
        }
        let id: String
        let type: String
        let data: Subscription?
    }

    /// The attributes of a Gigs API call's span.
    private static let apiCall = [(OTelAttribute.http.request.method, "GET")]

    public func perform(_ job: DeliveryJob) async -> ActionOutcome {
        guard let event = try? JSONDecoder().decode(Event.self, from: Data(job.body)), let subscription = event.data,
            subscription.object == "subscription"
        else {
            return .skipped(reason: "not_a_subscription_event: \(job.eventType) does not carry a subscription")
        }
        do {
            var sim = subscription.sim
            var user = subscription.user
            if sim == nil || user == nil {
                let current = try await job.traced(
                    "GET /subscriptions/{subscription}", attributes: Self.apiCall
                ) { () async throws(GigsAPIError) in try await api.subscription(subscription.id) }
                sim = sim ?? current.sim
                user = user ?? current.user
            }
            guard let sim else { return .skipped(reason: "no_sim: the subscription has no SIM") }
            guard sim.type != "pSIM" else { return .skipped(reason: "not_esim: the SIM is a pSIM") }
            let recipient: GigsAPIClient.User
            switch user {
            case .user(let embedded)?: recipient = embedded
            case .id(let id)?:
                recipient = try await job.traced("GET /users/{user}", attributes: Self.apiCall) {
                    () async throws(GigsAPIError) in try await api.user(id)
                }
            case nil: return .permanent(error: "the subscription has no user to send the links to")
            }
            // The span says the call was made and how it ended, never what came back: credentials.
            let credentials = try await job.traced("GET /sims/{sim}/credentials", attributes: Self.apiCall) {
                () async throws(GigsAPIError) in try await api.simCredentials(sim: sim.id)
            }
            let links = Links(credentials)
            guard !links.isEmpty else {
                return .permanent(error: "Gigs returned no install credentials for the SIM")
            }
            let delivery = Delivery(
                event: event, subscription: subscription.id, sim: sim.id, user: recipient, links: links)
            switch channel {
            case .http(let poster):
                return await poster.post(delivery.document, for: job)
            case .email(let mailer, let templates, let defaultLocale):
                return await delivery.mail(with: mailer, templates: templates, defaultLocale: defaultLocale, for: job)
            }
        } catch {
            return error.isRetryable
                ? .retryable(error: error.message, retryAfter: error.retryAfter) : .permanent(error: error.message)
        }
    }
}

extension InstallLinksAction {
    /// The install credentials in the order Gigs recommends (GIGS.md §6): the platform's own link first,
    /// the QR code when the platform is unknown, the activation code for old devices.
    struct Links {
        static let order = ["ios", "android", "qrCode", "activationCode"]

        let values: [String: String]

        init(_ credentials: SIMCredentials) {
            let all = [
                "ios": credentials.iosInstallUrl, "android": credentials.androidInstallUrl,
                "qrCode": credentials.qrCodeUrl, "activationCode": credentials.activationCode,
            ]
            self.values = all.compactMapValues { $0?.revealed }
        }

        var isEmpty: Bool { values.isEmpty }
    }

    /// One user's links for one event, ready for a channel.
    struct Delivery {
        let event: Event
        let subscription: String
        let sim: String
        let user: GigsAPIClient.User
        let links: Links

        /// The JSON document of `channel = "http"`.
        var document: [UInt8] {
            let document: [String: Any] = [
                "event": event.id,
                "type": event.type,
                "subscription": subscription,
                "sim": sim,
                "user": [
                    "id": user.id,
                    "email": jsonValue(user.email),
                    "fullName": jsonValue(user.fullName),
                    "preferredLocale": jsonValue(user.preferredLocale),
                ],
                "links": Dictionary(uniqueKeysWithValues: Links.order.map { ($0, jsonValue(links.values[$0])) }),
                "recommendedOrder": Links.order,
            ]
            // Plain strings and dictionaries always serialise.
            return Array((try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data())
        }

        /// Sends the `channel = "email"` message to the user.
        func mail(
            with mailer: Mailer,
            templates: MailTemplateFolder,
            defaultLocale: String,
            for job: DeliveryJob
        ) async -> ActionOutcome {
            guard let email = user.email else {
                return .permanent(error: "the user has no email address to send the links to")
            }
            guard let recipient = MailAddress(address: email, displayName: user.fullName) else {
                return .permanent(error: "the user's email address is not one gigs-relay can send to")
            }
            let locale = Self.locales(preferred: user.preferredLocale, fallback: defaultLocale)
            guard let template = templates.set(forFirstOf: locale) else {
                return .permanent(error: "no install-link template for \(locale.joined(separator: ", "))")
            }
            let context: [String: Any] = [
                "user": ["fullName": user.fullName ?? "", "email": email],
                "links": links.values,
                "event": ["id": event.id, "type": event.type, "reconciled": job.isReconciled],
                "subscription": subscription,
                "sim": sim,
            ]
            let parts = template.render(context)
            return await mailer.send(
                to: [recipient], subject: parts.subject, text: parts.text, html: parts.html, for: job)
        }

        /// `de-AT` → `de-AT`, `de`, then the fallback.
        static func locales(preferred: String?, fallback: String) -> [String] {
            var names: [String] = []
            if let preferred = preferred?.replacingOccurrences(of: "_", with: "-"), !preferred.isEmpty {
                names.append(preferred)
                if let language = preferred.split(separator: "-").first { names.append(String(language).lowercased()) }
            }
            names.append(fallback)
            return names
        }

        /// A string, or JSON null.
        private func jsonValue(_ text: String?) -> Any { text ?? NSNull() }
    }
}
