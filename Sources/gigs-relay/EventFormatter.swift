import Foundation
import GigsRelay

/// Renders stored events for people (tables, text) and for scripts (JSON).
enum EventFormatter {
    /// A UTC ISO 8601 time with milliseconds.
    static func timestamp(_ date: Date) -> String { Timestamp.iso8601(date) }

    /// Pretty, key-sorted JSON of the operator views (the API's shapes).
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A fixed-width table, newest first.
    static func table(_ events: [StoredEvent]) -> String {
        guard !events.isEmpty else { return "No events stored." }
        return columns(
            [["RECEIVED", "ID", "TYPE", "PROJECT"]]
                + events.map { [timestamp($0.receivedAt), $0.id.rawValue, $0.type, $0.project ?? "-"] }
        )
    }

    /// Rows as left-aligned columns two spaces apart.
    static func columns(_ rows: [[String]]) -> String {
        let count = rows.first?.count ?? 0
        let widths = (0..<count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Labelled fields, then the body pretty-printed.
    static func text(_ event: StoredEvent) -> String {
        var lines = [
            "id:                \(event.id)",
            "type:              \(event.type)",
            "project:           \(event.project ?? "-")",
            "time:              \(event.time ?? "-")",
            "received at:       \(timestamp(event.receivedAt))",
            "message id:        \(event.messageID)",
            "webhook timestamp: \(event.webhookTimestamp)",
            "sequence:          \(event.sequence)",
            "",
        ]
        lines.append(JSONValue(parsing: event.body)?.prettyPrinted ?? String(decoding: event.body, as: UTF8.self))
        return lines.joined(separator: "\n")
    }
}
