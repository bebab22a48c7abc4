import Foundation

/// A fresh folder under the system's temporary directory, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    /// The folder's absolute path.
    public let path: String

    public init(prefix: String = "gigs-relay-test") {
        let path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes a `/bin/sh` script with `body` to `name`, makes it executable, and returns its path.
    ///
    /// Run it as `["/bin/sh", PATH]`: executing a file just written can fail with "Text file busy" while a
    /// process another test is spawning at that moment still holds the write descriptor.
    public func writeScript(_ name: String, _ body: String) throws -> String {
        let file = try write(name, "#!/bin/sh\n" + body + "\n")
        chmod(file, 0o755)
        return file
    }

    /// Writes text to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let file = file(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
