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
        let store = try SQLiteStore(path: directory.file("events.sqlite3"), logger: logger)
        let signer = TestSigner()
        for index in 0..<1_200 {
            _ = try await store.append(try signer.verifiedEvent(id: "evt_\(index)"), actions: [])
        }
        _ = try await store.append(try signer.verifiedEvent(id: "evt_open"), actions: ["a"])
        await RetentionService(store: store, retentionDays: 30, logger: logger).prune()
        #expect(try EventLogReader(path: store.path).count() == 1_201)  // nothing is 30 days old
        try await Task.sleep(for: .milliseconds(5))
        await RetentionService(store: store, retentionDays: 0, logger: logger).prune()
        #expect(try EventLogReader(path: store.path).list(limit: 10).map(\.id.rawValue) == ["evt_open"])
        await store.close()
    }
}
