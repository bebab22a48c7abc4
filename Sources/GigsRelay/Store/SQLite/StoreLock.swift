import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on a store for the life of the daemon that writes it: `flock` on `<store>.lock`.
///
/// Two daemons on one SQLite file would both claim and run the same deliveries' leases and race their
/// retention; the second one refuses to start instead. The lock is advisory and separate from SQLite's
/// own locks, so the CLI (which never takes it) keeps working beside the daemon. The kernel releases it
/// when the process ends, however it ends.
final class StoreLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock, or throws naming the store when another process holds it.
    init(storePath: String) throws(SQLiteError) {
        let path = storePath + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SQLiteError(
                code: 14, message: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw SQLiteError(code: 14, message: "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw SQLiteError(
                code: 5,
                message:
                    "another gigs-relay serve is already running on this store (it holds \(path)); "
                    + "run one daemon per SQLite store, or use the CLI beside it"
            )
        }
        self.descriptor = descriptor
    }

    /// Releases the lock.
    func release() {
        close(descriptor)
    }
}
