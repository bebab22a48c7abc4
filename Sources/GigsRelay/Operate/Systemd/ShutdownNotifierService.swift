import ServiceLifecycle

/// Sends `STOPPING=1` to systemd as soon as shutdown begins.
struct ShutdownNotifierService: Service {
    let notifier: SystemdNotifier

    func run() async throws {
        try? await gracefulShutdown()
        notifier.notify("STOPPING=1", "STATUS=Shutting down")
    }
}
