import Foundation

/// `kind = "esim-install-links"`: for a subscription event whose SIM is an eSIM, fetches the SIM's
/// credentials from the Gigs API and delivers the install links to the subscription's user.
///
/// When the event carries no SIM or only a user id, the subscription or user is looked up. A pSIM is
/// `skipped` (`not_esim`); an event that is not about a subscription is `skipped` too. The credentials
/// exist only in memory during the attempt: they reach neither the store, nor logs, nor attempt errors.
public struct InstallLinksAction: DeliveryAction {
    private let api: GigsAPIClient
    private let poster: SignedPoster

    init(api: GigsAPIClient, poster: SignedPoster) {
        self.api = api
        self.poster = poster
    }

    /// The parts of a subscription event this action reads.
    private struct Event: Decodable {
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
                let current = try await api.subscription(subscription.id)
                sim = sim ?? current.sim
                user = user ?? current.user
            }
            guard let sim else { return .skipped(reason: "no_sim: the subscription has no SIM") }
            guard sim.type != "pSIM" else { return .skipped(reason: "not_esim: the SIM is a pSIM") }
            let recipient: GigsAPIClient.User
            switch user {
            case .user(let embedded)?: recipient = embedded
            case .id(let id)?: recipient = try await api.user(id)
            case nil: return .permanent(error: "the subscription has no user to send the links to")
            }
            let credentials = try await api.simCredentials(sim: sim.id)
            let links: [String: Any] = [
                "ios": jsonValue(credentials.iosInstallUrl?.revealed),
                "android": jsonValue(credentials.androidInstallUrl?.revealed),
                "qrCode": jsonValue(credentials.qrCodeUrl?.revealed),
                "activationCode": jsonValue(credentials.activationCode?.revealed),
            ]
            guard links.values.contains(where: { !($0 is NSNull) }) else {
                return .permanent(error: "Gigs returned no install credentials for the SIM")
            }
            let document: [String: Any] = [
                "event": event.id,
                "type": event.type,
                "subscription": subscription.id,
                "sim": sim.id,
                "user": [
                    "id": recipient.id,
                    "email": jsonValue(recipient.email),
                    "fullName": jsonValue(recipient.fullName),
                    "preferredLocale": jsonValue(recipient.preferredLocale),
                ],
                "links": links,
                // Gigs' guidance: the platform's own link first, the QR code when the platform is unknown,
                // the activation code for old devices.
                "recommendedOrder": ["ios", "android", "qrCode", "activationCode"],
            ]
            guard let body = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) else {
                return .permanent(error: "cannot build the links document")
            }
            return await poster.post(Array(body), for: job)
        } catch {
            return error.isRetryable
                ? .retryable(error: error.message, retryAfter: error.retryAfter) : .permanent(error: error.message)
        }
    }

    /// A string, or JSON null.
    private func jsonValue(_ text: String?) -> Any { text ?? NSNull() }
}
