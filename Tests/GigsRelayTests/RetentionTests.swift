import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

@Suite("Retention")
struct RetentionTests {
    @Test("The retention task prunes finished events past store.retention_days through the writer")
    func retentionPass() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let clock = ManualClock()
        let store = try SQLiteStore(path: directory.file("events.sqlite3"), clock: clock, logger: logger)
        let signer = TestSigner()
        for index in 0..<1_200 {
            _ = try await store.append(try signer.verifiedEvent(id: "evt_\(index)", clock: clock), actions: [])
        }
        _ = try await store.append(try signer.verifiedEvent(id: "evt_open", clock: clock), actions: ["a"])
        let retention = RetentionService(store: store, retentionDays: 30, clock: clock, logger: logger)
        await retention.prune()
        #expect(try EventLogReader(path: store.path).count() == 1_201)  // nothing is 30 days old
        clock.advance(by: .seconds(30 * 86_400 - 1))
        await retention.prune()
        #expect(try EventLogReader(path: store.path).count() == 1_201)  // a second short of 30 days
        clock.advance(by: .seconds(2))
        await retention.prune()
        #expect(try EventLogReader(path: store.path).list(limit: 10).map(\.id.rawValue) == ["evt_open"])
        await store.close()
    }
}
