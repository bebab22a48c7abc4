import Foundation
import GigsRelayTesting
import Testing

@testable import GigsRelay

/// AES-256-GCM sealing of stored payloads (``PayloadSealer``), and the user an event is about.
@Suite("Payload sealing")
struct PayloadSealerTests {
    let key = StoreKey.random()
    let body = Array(#"{"id":"evt_1","data":{"user":{"email":"jane@example.com"}}}"#.utf8)

    @Test("A sealed body hides its bytes, opens in its own row only, and names its key")
    func sealsAndOpens() throws {
        let sealer = PayloadSealer(current: key, previous: [])
        let sealed = sealer.seal(body, for: .event(EventID("evt_1")))
        #expect(sealed.count == body.count + PayloadSealer.overhead)
        #expect(PayloadSealer.isSealed(sealed) && !PayloadSealer.isSealed(body))
        #expect(PayloadSealer.keyID(of: sealed) == key.id && key.id.count == 8)
        #expect(!Data(sealed).contains(Data("jane@example.com".utf8)))
        #expect(try sealer.open(sealed, for: .event(EventID("evt_1"))) == body)
        // Two seals of the same body differ (a fresh nonce each).
        #expect(sealer.seal(body, for: .event(EventID("evt_1"))) != sealed)
        // Moved to another row, or changed by one bit: it does not open, and says so.
        #expect(throws: SealError.self) { try sealer.open(sealed, for: .event(EventID("evt_2"))) }
        #expect(throws: SealError.self) { try sealer.open(sealed, for: .delivery(DeliveryID(1))) }
        var flipped = sealed
        flipped[flipped.count / 2] ^= 1
        do {
            _ = try sealer.open(flipped, for: .event(EventID("evt_1")))
            Issue.record("a changed body opened")
        } catch {
            #expect("\(error)".contains("changed") && "\(error)".contains(key.id))
        }
        // Plaintext rows (stored before encryption) open as they are.
        #expect(try sealer.open(body, for: .event(EventID("evt_1"))) == body)
        // Without a key nothing is sealed, and nothing sealed opens.
        #expect(PayloadSealer.plaintext.seal(body, for: .event(EventID("evt_1"))) == body)
        do {
            _ = try PayloadSealer.plaintext.open(sealed, for: .event(EventID("evt_1")))
            Issue.record("a sealed body opened without its key")
        } catch {
            #expect("\(error)".contains(key.id) && "\(error)".contains("not configured"))
        }
    }

    @Test("An old key still opens, never seals; a rekey moves a row to the current key")
    func rotation() throws {
        let old = StoreKey.random()
        let before = PayloadSealer(current: old, previous: [])
        let after = PayloadSealer(current: key, previous: [old])
        let row = PayloadSealer.Row.event(EventID("evt_1"))
        let sealed = before.seal(body, for: row)
        #expect(try after.open(sealed, for: row) == body)
        #expect(PayloadSealer.keyID(of: after.seal(body, for: row)) == key.id)
        let moved = try #require(try after.resealed(sealed, for: row))
        #expect(PayloadSealer.keyID(of: moved) == key.id)
        #expect(try after.open(moved, for: row) == body)
        #expect(try after.resealed(moved, for: row) == nil)
        #expect(try after.resealed(body, for: row).map { PayloadSealer.keyID(of: $0) } == key.id)
        #expect(after.keyIDs == [key.id, old.id])
    }

    @Test("Error and output texts are sealed as text and opened, or shown as sealed when they cannot be")
    func texts() {
        let sealer = PayloadSealer(current: key, previous: [])
        let row = PayloadSealer.Row.delivery(DeliveryID(7))
        let sealed = sealer.seal(text: "HTTP 400: jane@example.com is unknown", for: row)
        #expect(sealed?.hasPrefix(PayloadSealer.textPrefix) == true && sealed?.contains("jane") == false)
        #expect(sealer.open(text: sealed, for: row) == "HTTP 400: jane@example.com is unknown")
        #expect(sealer.open(text: "plain", for: row) == "plain" && sealer.open(text: nil, for: row) == nil)
        #expect(PayloadSealer.plaintext.open(text: sealed, for: row)?.contains(key.id) == true)
        #expect(PayloadSealer.plaintext.open(text: sealed, for: row)?.contains("jane") == false)
        #expect(sealer.open(text: sealed, for: .delivery(DeliveryID(8)))?.contains("jane") == false)
    }

    @Test("A store listing keys the sealer lacks is refused, naming the key ids and never the keys")
    func check() throws {
        let other = StoreKey.random()
        try PayloadSealer(current: key, previous: [other]).check(recorded: [other.id, key.id])
        try PayloadSealer.plaintext.check(recorded: [])
        for (sealer, listed) in [
            (PayloadSealer.plaintext, [key.id]), (PayloadSealer(current: other, previous: []), [key.id]),
        ] {
            do {
                try sealer.check(recorded: listed)
                Issue.record("a store sealed with \(key.id) opened")
            } catch {
                #expect(error.isConfigurationError && error.detail.contains(key.id))
                #expect(!error.detail.contains(DaemonFixture.base64(key)))
            }
        }
    }

    @Test("encryption_key must hold 32 bytes of base64; previous keys need a current one")
    func configuration() throws {
        let environment = ["KEY": DaemonFixture.base64(key), "SHORT": Data([1, 2, 3]).base64EncodedString()]
        func store(_ toml: String) throws -> RelayConfiguration.Store {
            try RelayConfiguration(toml: "[store]\n\(toml)\n[webhook]\nsecrets = [\"env:A\"]").store
        }
        let sealer = try PayloadSealer(try store(#"encryption_key = "env:KEY""#), environment: environment)
        #expect(sealer.current?.id == key.id && sealer.isSealing)
        #expect(throws: ConfigurationError.self) {
            try PayloadSealer(try store(#"encryption_key = "env:SHORT""#), environment: environment)
        }
        #expect(throws: ConfigurationError.self) {
            try store(#"previous_encryption_keys = ["env:KEY"]"#)
        }
        #expect(throws: ConfigurationError.self) { try store(#"encryption_key = "c2VjcmV0""#) }
        #expect(!(try PayloadSealer(try store(""), environment: environment)).isSealing)
    }

    @Test(
        "The user an event is about: data.user.id, a data.user id, a user's own data.id",
        arguments: [
            (
                #"{"id":"e","type":"com.gigs.subscription.activated","data":{"id":"sub_1","user":{"id":"usr_1"}}}"#,
                "usr_1"
            ),
            (#"{"id":"e","type":"com.gigs.user.address.created","data":{"id":"adr_1","user":"usr_2"}}"#, "usr_2"),
            (#"{"id":"e","type":"com.gigs.user.deleted","data":{"id":"usr_3"}}"#, "usr_3"),
            (#"{"id":"e","type":"com.gigs.user.updated","data":{"object":"user","id":"usr_4"}}"#, "usr_4"),
            (#"{"id":"e","type":"com.gigs.user.address.deleted","data":{"id":"adr_2"}}"#, nil),
            (#"{"id":"e","type":"com.gigs.subscription.ended","data":{"id":"sub_2","user":{"email":"x"}}}"#, nil),
            (#"{"id":"e","type":"com.gigs.payment.failed","data":{"id":"pay_1","user":7}}"#, nil),
        ] as [(String, String?)])
    func user(body: String, user: String?) throws {
        #expect(try EventEnvelope.decode(Array(body.utf8)).user == user)
    }
}
