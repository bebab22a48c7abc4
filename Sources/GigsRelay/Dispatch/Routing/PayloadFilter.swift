import Foundation

/// A scalar a filter compares with: what TOML and JSON both have.
public enum FilterValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    /// Integers and floating-point numbers alike: JSON does not tell them apart.
    case number(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let string): "\"\(string.tomlEscaped)\""
        case .number(let number):
            number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let bool): String(bool)
        }
    }
}

/// One condition of a route's `where` table: the value at `pointer` equals one of `values`. A missing
/// field, `null`, an object or an array matches nothing.
public struct PayloadFilter: Sendable, Hashable, CustomStringConvertible {
    public let pointer: JSONPointer
    public let values: [FilterValue]

    public init(pointer: JSONPointer, values: [FilterValue]) {
        self.pointer = pointer
        self.values = values
    }

    /// Whether the payload's value (nil when missing or not a scalar) satisfies this condition.
    public func matches(_ value: FilterValue?) -> Bool {
        guard let value else { return false }
        return values.contains(value)
    }

    /// As written in TOML: `"/data/sim/type" = "eSIM"` or `"/data/plan/id" = ["pln_a", "pln_b"]`.
    public var description: String {
        let written =
            values.count == 1 ? values[0].description : "[\(values.map(\.description).joined(separator: ", "))]"
        return "\"\(pointer.description.tomlEscaped)\" = \(written)"
    }
}
