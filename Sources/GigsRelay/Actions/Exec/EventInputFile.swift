import CRelayPosix
import Foundation

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// A command's standard input: an anonymous in-memory file (`memfd_create`) holding the event, read
/// from its start.
///
/// Unlike a pipe, nothing has to be written while the command runs, so a command that never reads its
/// input, or exits early, cannot block the daemon or fail a write with `EPIPE`.
final class EventInputFile: Sendable {
    let descriptor: FileDescriptor

    init(_ body: [UInt8]) throws {
        let fd = relay_memfd_create("gigs-relay-event")
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        let file = FileDescriptor(rawValue: fd)
        do {
            _ = try body.withUnsafeBytes { try file.writeAll($0) }
            _ = try file.seek(offset: 0, from: .start)
        } catch {
            try? file.close()
            throw error
        }
        self.descriptor = file
    }

    func close() {
        try? descriptor.close()
    }
}
