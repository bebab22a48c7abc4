import Logging

extension RelayConfiguration {
    /// `[log]`: logging.
    public struct Log: Sendable {
        public var level: Logger.Level
        public var format: RelayLogHandler.Format
    }
}

extension RelayConfiguration.Log {
    enum Keys {
        static let level = ConfigKey.choice(
            "level", Logger.Level.allCases.map(\.rawValue), default: Logger.Level.info.rawValue,
            reload: .needsRestart, "the least severe level logged")
        static let format = ConfigKey.choice(
            "format", RelayLogHandler.Format.allCases.map(\.rawValue), default: RelayLogHandler.Format.text.rawValue,
            reload: .needsRestart,
            "`text`: one line per record (with syslog priorities under journald); `json`: one object per line")
    }

    static let section = ConfigSection(
        name: "log", summary: "Logging, to standard error (the journal under systemd).",
        keys: [Keys.level, Keys.format])

    init(section: TOMLSection) throws(ConfigurationError) {
        level = try section.read(Keys.level, as: Logger.Level.self)
        format = try section.read(Keys.format, as: RelayLogHandler.Format.self)
    }

    var effectiveKeys: [EffectiveKey] {
        [Keys.level.effective(level.rawValue), Keys.format.effective(format.rawValue)]
    }
}
