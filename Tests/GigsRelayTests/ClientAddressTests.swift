import Foundation
import GigsRelayTesting
import HTTPTypes
import Testing

@testable import GigsRelay

@Suite("Client addresses")
struct ClientAddressTests {
    @Test("CIDR networks match the addresses they hold")
    func networks() throws {
        let loopback = try #require(IPNetwork(parsing: "127.0.0.1/32"))
        #expect(loopback.contains("127.0.0.1"))
        #expect(!loopback.contains("127.0.0.2"))
        let private10 = try #require(IPNetwork(parsing: "10.0.0.0/8"))
        #expect(private10.contains("10.200.3.4"))
        #expect(!private10.contains("11.0.0.1"))
        #expect(!private10.contains("::1"))
        let v6 = try #require(IPNetwork(parsing: "fd00::/8"))
        #expect(v6.contains("fd12:3456::1"))
        #expect(IPNetwork(parsing: "::1")?.contains("::1") == true)
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] { #expect(IPNetwork(parsing: bad) == nil) }
    }
}
