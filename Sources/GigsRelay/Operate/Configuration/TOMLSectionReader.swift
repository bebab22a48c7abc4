import TOMLKit

/// Reads the file's top-level tables, refusing unknown section names.
struct TOMLSectionReader {
    private let root: TOMLTable

    init(root: TOMLTable) throws(ConfigurationError) {
        self.root = root
    }

    /// The table `[name]`, or an empty one when the file leaves it out.
    func section(_ name: String) throws(ConfigurationError) -> TOMLSection {
        guard let value = root[name] else { return TOMLSection(name: name, table: TOMLTable()) }
        guard let table = value.table else {
            throw ConfigurationError(key: name, "must be a table ([\(name)])")
        }
        return TOMLSection(name: name, table: table)
    }

    /// The table `[name]`, or nil when the file leaves it out (an empty table is there: all defaults).
    func presentSection(_ name: String) throws(ConfigurationError) -> TOMLSection? {
        root[name] == nil ? nil : try section(name)
    }

    /// The array of tables `[[name]]`, each as a section named `name[i]`; empty when absent.
    func sections(_ name: String) throws(ConfigurationError) -> [TOMLSection] {
        guard let value = root[name] else { return [] }
        guard let array = value.array else {
            throw ConfigurationError(key: name, "must be an array of tables ([[\(name)]])")
        }
        var sections: [TOMLSection] = []
        for (index, element) in array.enumerated() {
            guard let table = element.table else {
                throw ConfigurationError(key: "\(name)[\(index)]", "must be a table")
            }
            sections.append(TOMLSection(name: "\(name)[\(index)]", table: table))
        }
        return sections
    }

    /// The sub-tables of `[name]` (`[name.child]`), sorted by child name; empty when absent.
    func namedSections(_ name: String) throws(ConfigurationError) -> [(name: String, section: TOMLSection)] {
        guard let value = root[name] else { return [] }
        guard let table = value.table else { throw ConfigurationError(key: name, "must be a table of tables") }
        var sections: [(String, TOMLSection)] = []
        for child in table.keys.sorted() {
            guard let childTable = table[child]?.table else {
                throw ConfigurationError(key: "\(name).\(child)", "must be a table ([\(name).\(child)])")
            }
            sections.append((child, TOMLSection(name: "\(name).\(child)", table: childTable)))
        }
        return sections
    }

    /// Reads the declared section `[name]` with `parse`, then refuses any key it did not read.
    func read<Settings>(
        _ declared: ConfigSection, _ parse: (TOMLSection) throws(ConfigurationError) -> Settings
    ) throws(ConfigurationError) -> Settings {
        let section = try section(declared.name)
        let settings = try parse(section)
        try section.refuseUnknownKeys()
        return settings
    }

    func refuseUnknownSections(known: Set<String>) throws(ConfigurationError) {
        for key in root.keys.sorted() where !known.contains(key) {
            throw ConfigurationError(
                key: key, "unknown section; known sections are \(known.sorted().joined(separator: ", "))")
        }
    }
}

/// Typed access to one TOML table that remembers which keys were read, so leftovers can be refused.
final class TOMLSection {
    let name: String
    private let table: TOMLTable
    private var readKeys: Set<String> = []

    init(name: String, table: TOMLTable) {
        self.name = name
        self.table = table
    }

    /// Whether the file gave this table no keys (or left it out).
    var isEmpty: Bool { table.isEmpty }

    /// Whether the file gives `key` (without counting it as read).
    func contains(_ key: String) -> Bool { table[key] != nil }

    /// The dotted name of `key` in this section, for error messages.
    func key(_ key: String) -> String { "\(name).\(key)" }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw ConfigurationError(key: self.key(key), "must be a string") }
        return string
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let integer = value.int, range.contains(integer) else {
            throw ConfigurationError(
                key: self.key(key),
                "must be an integer from \(range.lowerBound) to \(range.upperBound), got \(value.debugDescription)"
            )
        }
        return integer
    }

    /// An integer or a floating-point number within `range`.
    func number(_ key: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let number = value.double ?? value.int.map(Double.init), range.contains(number) else {
            throw ConfigurationError(
                key: self.key(key),
                "must be a number from \(range.lowerBound) to \(range.upperBound), got \(value.debugDescription)"
            )
        }
        return number
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let bool = value.bool else { throw ConfigurationError(key: self.key(key), "must be true or false") }
        return bool
    }

    /// An inline table of string values, such as `headers = { "X-Team" = "ops" }`.
    func stringTable(_ key: String) throws(ConfigurationError) -> [String: String]? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let inner = value.table else {
            throw ConfigurationError(key: self.key(key), "must be a table of strings")
        }
        var result: [String: String] = [:]
        for name in inner.keys {
            guard let string = inner[name]?.string else {
                throw ConfigurationError(key: "\(self.key(key)).\(name)", "must be a string")
            }
            result[name] = string
        }
        return result
    }

    /// An inline table of scalars or arrays of scalars, such as a route's
    /// `where = { "/data/sim/type" = "eSIM", "/data/plan/id" = ["pln_a", "pln_b"] }`, sorted by key.
    func scalarTable(_ key: String) throws(ConfigurationError) -> [(key: String, values: [FilterValue])]? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let inner = value.table else {
            throw ConfigurationError(key: self.key(key), "must be a table such as { \"/data/sim/type\" = \"eSIM\" }")
        }
        var result: [(key: String, values: [FilterValue])] = []
        for name in inner.keys.sorted() {
            guard let element = inner[name] else { continue }
            let elements = element.array.map { Array($0) } ?? [element]
            var values: [FilterValue] = []
            for element in elements {
                guard let scalar = Self.scalar(element) else {
                    throw ConfigurationError(
                        key: "\(self.key(key)).\(name)", "must be a string, number or boolean, or an array of them")
                }
                values.append(scalar)
            }
            guard !values.isEmpty else {
                throw ConfigurationError(key: "\(self.key(key)).\(name)", "must list at least one value")
            }
            result.append((name, values))
        }
        return result
    }

    private static func scalar(_ value: any TOMLValueConvertible) -> FilterValue? {
        if let string = value.string { return .string(string) }
        if let bool = value.bool { return .bool(bool) }
        if let integer = value.int { return .number(Double(integer)) }
        if let double = value.double, double.isFinite { return .number(double) }
        return nil
    }

    func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        readKeys.insert(key)
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            throw ConfigurationError(key: self.key(key), "must be an array of strings")
        }
        var strings: [String] = []
        for element in array {
            guard let string = element.string else {
                throw ConfigurationError(key: self.key(key), "must be an array of strings")
            }
            strings.append(string)
        }
        return strings
    }

    func refuseUnknownKeys() throws(ConfigurationError) {
        for key in table.keys.sorted() where !readKeys.contains(key) {
            throw ConfigurationError(key: self.key(key), "unknown key")
        }
    }
}
