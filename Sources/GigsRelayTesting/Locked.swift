import NIOConcurrencyHelpers

/// A value shared between test tasks behind a lock; a class so closures can capture it.
public final class Locked<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>

    public init(_ value: Value) {
        box = NIOLockedValueBox(value)
    }

    /// The current value.
    public var value: Value { box.withLockedValue { $0 } }

    /// Changes the value under the lock.
    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        box.withLockedValue { body(&$0) }
    }
}
