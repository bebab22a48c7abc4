import GigsRelayTesting
import Testing

/// One suite, both backends: every check of ``StoreConformance`` (in `GigsRelayTesting`) on each.
@Suite("Store conformance (SQLite and PostgreSQL)")
struct StoreConformanceTests {
    @Test("Every promise of EventLog and StoreConsole holds", arguments: Backend.allCases, StoreConformance.checks)
    func conformance(backend: Backend, check: StoreCheck) async throws {
        try await check.run(backend)
    }
}
