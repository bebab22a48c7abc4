import ServiceLifecycle

/// Keeps the event store open while the daemon runs and closes it last, after the server has drained:
/// on PostgreSQL it runs the connection pool, which stops only after what is queued has committed.
struct StoreService: Service {
    let store: OpenedStore

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await store.runPool() }
            try? await gracefulShutdown()
            await store.close()
            group.cancelAll()
        }
    }
}
