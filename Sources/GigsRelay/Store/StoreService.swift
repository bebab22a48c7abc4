import ServiceLifecycle

/// Keeps the event store open while the daemon runs and closes it last, after the server has drained.
struct StoreService: Service {
    let store: OpenedStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
    }
}
