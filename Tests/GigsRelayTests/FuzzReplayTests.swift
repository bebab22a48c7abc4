import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import Testing

@Suite("Fuzz corpus replay")
struct FuzzReplayTests {
    @Test("Every committed fuzz seed and crash input runs through ingest's parsers without failing")
    func replay() throws {
        let binary = URL(fileURLWithPath: RelayProcess.binaryPath).deletingLastPathComponent()
            .appendingPathComponent("gigs-relay-fuzz").path
        let (status, output) = try runTool(
            [binary, Repository.path("Tests/Fuzz/corpus"), Repository.path("Tests/Fuzz/crashes")])
        #expect(status == 0, "\(output)")
        #expect(output.contains("replayed"))
    }
}
