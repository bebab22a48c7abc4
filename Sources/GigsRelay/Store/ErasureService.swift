import Logging
import ServiceLifecycle

/// `[privacy] erase_on_user_deleted`: every stored `com.gigs.user.deleted` erases the user's earlier
/// events (``Erasure``); the deletion event itself is delivered like any other and erased once its
/// deliveries have finished. Asks the store every ``interval``; with several instances, two may erase
/// the same events at once, which changes nothing twice (an erased event is never taken again).
struct ErasureService: Service {
    static let interval: Duration = .seconds(2)

    let console: any StoreConsole
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await erase()
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// One pass over the deletions not erased yet.
    func erase() async {
        do {
            for deletion in try await console.userDeletions(limit: 100) where !Task.isCancelled {
                let reason = Erasure.userDeletedReason(deletion.id)
                let earlier = try await console.erase(
                    .user(deletion.user, before: deletion.sequence), reason: reason, dryRun: false)
                if earlier.events > 0 {
                    log("Erased a deleted user's events", deletion, earlier)
                }
                if deletion.isDelivered {
                    let own = try await console.erase(.event(deletion.sequence), reason: reason, dryRun: false)
                    if own.events > 0 { log("Erased a delivered user deletion", deletion, own) }
                }
            }
        } catch {
            logger.error("Cannot erase deleted users' events", metadata: [LogKey.error: "\(error)"])
        }
    }

    /// The user id and the counts, never the data.
    private func log(_ message: Logger.Message, _ deletion: Erasure.Deletion, _ result: Erasure.Result) {
        logger.notice(
            message,
            metadata: [
                LogKey.user: "\(deletion.user)", LogKey.eventID: "\(deletion.id)",
                LogKey.erasedEvents: "\(result.events)", LogKey.erasedAttempts: "\(result.attempts)",
                LogKey.erasedSkipped: "\(result.skippedDeliveries)",
            ])
    }
}
