/// At most `width` holders at once; the rest wait in arrival order. Tests that each load a shared server
/// (the throwaway PostgreSQL cluster) pass through one so that, on a small loaded machine, none waits on
/// the server past the store's call deadline.
public actor TestGate {
    private let width: Int
    private var holders = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(width: Int) {
        self.width = max(width, 1)
    }

    /// Runs `body` once a place is free.
    public func run<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        if holders < width {
            holders += 1
            return
        }
        // The place is handed over by `leave`, so `holders` already counts this task when it resumes.
        await withCheckedContinuation { waiting.append($0) }
    }

    private func leave() {
        if waiting.isEmpty {
            holders -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
