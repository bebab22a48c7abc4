import Foundation

/// The few envelope fields gigs-relay reads from a Gigs event; every other field is kept only in the raw body.
package struct EventEnvelope: Decodable {
    /// Longest id or type accepted, in UTF-8 bytes (Gigs ids are at most 64 characters).
    static let maxFieldBytes = 255

    let id: String
    let type: String
    let project: String?
    let time: String?
    /// What the event is about: `data.subscription` (a subscription change's subscription), else
    /// `data.id` (the subscription, group, SIM, … itself); see GIGS.md, section 8.
    let subject: String?
    /// `data.id`: the resource itself (a subscription change's own `sch_…`, unlike its subject).
    let resource: String?
    /// The Gigs user the event is about (``userPointers``), for erasure; nil when it names none.
    let user: String?

    /// Where an event names the Gigs user it is about, tried in order; the first that holds an id wins.
    static let userPointers: [UserPointer] = [.embeddedUser, .userID, .userResource]

    /// One place an event can name its user.
    enum UserPointer: Sendable {
        /// `data.user.id`: an embedded user object (subscription events).
        case embeddedUser
        /// `data.user` as an id string (addresses, payments, …).
        case userID
        /// `data.id` of a user itself: `data.object` is `"user"`, or the type is `com.gigs.user.<verb>`
        /// (not `com.gigs.user.address.…`, whose `data.id` is the address).
        case userResource
    }

    private enum CodingKeys: String, CodingKey {
        case id, type, project, time, data
    }

    private enum DataKeys: String, CodingKey {
        case subscription, id, user, object
    }

    private enum UserKeys: String, CodingKey {
        case id
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.type = try container.decode(String.self, forKey: .type)
        // Unknown or oddly typed optional fields are tolerated: Gigs adds fields without a new version.
        self.project = try? container.decodeIfPresent(String.self, forKey: .project)
        self.time = try? container.decodeIfPresent(String.self, forKey: .time)
        let data = try? container.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
        let candidates = [DataKeys.subscription, .id].map { key in
            (try? data?.decodeIfPresent(String.self, forKey: key)) ?? nil
        }
        self.subject = candidates.compactMap { $0 }.first { Self.isAcceptable($0) }
        self.resource = candidates[1].flatMap { Self.isAcceptable($0) ? $0 : nil }
        let type = self.type
        self.user =
            Self.userPointers.lazy.compactMap { pointer in
                Self.user(at: pointer, in: data, type: type).flatMap { Self.isAcceptable($0) ? $0 : nil }
            }.first
    }

    /// The user id `pointer` finds in `data`, if any.
    private static func user(
        at pointer: UserPointer, in data: KeyedDecodingContainer<DataKeys>?, type: String
    ) -> String? {
        switch pointer {
        case .embeddedUser:
            let user = try? data?.nestedContainer(keyedBy: UserKeys.self, forKey: .user)
            return (try? user?.decodeIfPresent(String.self, forKey: .id)) ?? nil
        case .userID:
            return (try? data?.decodeIfPresent(String.self, forKey: .user)) ?? nil
        case .userResource:
            let object = (try? data?.decodeIfPresent(String.self, forKey: .object)) ?? nil
            let verb = type.hasPrefix(userEventPrefix) ? type.dropFirst(userEventPrefix.count) : nil
            guard object == "user" || (verb.map { !$0.isEmpty && !$0.contains(".") } ?? false) else { return nil }
            return (try? data?.decodeIfPresent(String.self, forKey: .id)) ?? nil
        }
    }

    /// The prefix of the types of events about a user itself (`com.gigs.user.deleted`, …).
    static let userEventPrefix = "com.gigs.user."

    /// One decoder for every request: it is configuration-free and thread-safe.
    private static let decoder = JSONDecoder()

    /// Decodes the envelope, telling malformed JSON from JSON that is not an event.
    package static func decode(_ body: [UInt8]) throws(IngestError) -> EventEnvelope {
        let envelope: EventEnvelope
        do {
            envelope = try decoder.decode(EventEnvelope.self, from: Data(body))
        } catch DecodingError.dataCorrupted {
            throw .malformedJSON
        } catch {
            throw .notAGigsEvent
        }
        guard Self.isAcceptable(envelope.id), Self.isAcceptable(envelope.type) else { throw .notAGigsEvent }
        return envelope
    }

    private static func isAcceptable(_ field: String) -> Bool {
        !field.isEmpty && field.utf8.count <= maxFieldBytes && !field.unicodeScalars.contains { $0.value < 0x20 }
    }
}
