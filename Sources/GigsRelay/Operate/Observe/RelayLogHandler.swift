import Foundation
import Logging

/// Writes one line per record to standard error, in one of two formats:
///
/// - `text`: `2026-11-23T10:00:00+0000 info gigs-relay: relay.event.id=evt_1 Event stored`. Under
///   journald (`JOURNAL_STREAM` is set, as systemd does for a service's output) the line starts with the
///   syslog priority (`<6>`) instead of a time, so journald records the level and adds its own time.
/// - `json`: `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`.
///
/// Line breaks inside a message or a value are escaped, so a record never spans lines.
public struct RelayLogHandler: LogHandler {
    /// `log.format`.
    public enum Format: String, Sendable, CaseIterable {
        case text
        case json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let journal: Bool

    /// - Parameter journal: prefix text lines with the syslog priority instead of a time.
    public init(label: String, level: Logger.Level, format: Format, journal: Bool) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.journal = journal
    }

    /// Whether standard error goes to journald.
    public static var isJournal: Bool { ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let line: String
        switch format {
        case .text: line = text(event, all)
        case .json: line = json(event, all)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private func text(_ event: LogEvent, _ metadata: Logger.Metadata) -> String {
        var line = journal ? "<\(Self.priority(event.level))>" : Self.timestamp() + " "
        line += "\(event.level) \(label):"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(Self.oneLine("\(metadata[key]!)"))"
        }
        return line + " " + Self.oneLine(event.message.description)
    }

    private func json(_ event: LogEvent, _ metadata: Logger.Metadata) -> String {
        var line = #"{"time":"# + "\"\(Self.timestamp())\""
        line += #","level":"# + "\"\(event.level)\""
        line += #","label":"#
        JSONResponse.appendQuoted(label, to: &line)
        line += #","message":"#
        JSONResponse.appendQuoted(event.message.description, to: &line)
        if !metadata.isEmpty {
            line += #","metadata":{"#
            for (index, key) in metadata.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                JSONResponse.appendQuoted(key, to: &line)
                line += ":"
                JSONResponse.appendQuoted("\(metadata[key]!)", to: &line)
            }
            line += "}"
        }
        return line + "}"
    }

    /// syslog priorities as journald reads them from a `<N>` prefix.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func oneLine(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        return text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func timestamp() -> String {
        Date().formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
