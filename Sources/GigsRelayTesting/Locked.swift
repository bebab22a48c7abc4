import Synchronization

/// A value shared between test tasks behind a lock; a class so closures can capture it.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    /// The current value.
    public var value: Value { mutex.withLock { $0 } }

    /// Changes the value under the lock.
    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
