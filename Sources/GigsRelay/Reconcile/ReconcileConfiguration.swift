/// `[reconcile]`: reconciliation inside the daemon, on a schedule (``ReconcileService``).
public struct ReconcileConfiguration: Sendable {
    /// Between the starts of two runs, in milliseconds.
    public var interval: Int64
    /// How far back each run reads, in milliseconds.
    public var since: Int64
    /// Whether runs store reconciled stand-ins for what they find missing.
    public var emit: Bool
    /// Pages of 200 read per list and run at most.
    public var maxPages: Int

    enum Keys {
        static let interval = ConfigKey.string(
            "interval", form: "span (1m at least)", default: "1h", reload: .needsRestart,
            "between the starts of two runs, over all instances; after an incomplete run the next try comes "
                + "sooner (15 s, doubling up to this)")
        static let since = ConfigKey.string(
            "since", form: "span", default: "72h", reload: .needsRestart,
            "how far back each run reads (Svix retries a webhook for about 28 hours)")
        static let emit = ConfigKey.bool(
            "emit", default: false, reload: .needsRestart,
            "store a reconciled stand-in for each missing event and route it like a webhook; off: only find, log "
                + "and count them")
        static let maxPages = ConfigKey.integer(
            "max_pages", in: 1...100_000, default: 1000, reload: .needsRestart,
            "pages of 200 read per list and run at most; a window holding more makes the run incomplete")
    }

    static let section = ConfigSection(
        name: "reconcile",
        summary:
            "Reconciliation on a schedule (`gigs-relay reconcile` inside the daemon), on one instance at a time; "
            + "needs `[gigs]`. Leave it out to run none.",
        keys: [Keys.interval, Keys.since, Keys.emit, Keys.maxPages])

    init(section: TOMLSection) throws(ConfigurationError) {
        interval = try Self.span(section, Keys.interval)
        guard interval >= 60_000 else {
            throw ConfigurationError(key: section.key(Keys.interval), "must be at least 1m")
        }
        since = try Self.span(section, Keys.since)
        guard since > 0 else { throw ConfigurationError(key: section.key(Keys.since), "must be longer than 0") }
        emit = try section.read(Keys.emit)
        maxPages = try section.read(Keys.maxPages)
    }

    private static func span(_ section: TOMLSection, _ key: ConfigKey<String>) throws(ConfigurationError) -> Int64 {
        let text = try section.read(key)
        guard let milliseconds = TimeSpan.milliseconds(text) else {
            throw ConfigurationError(key: section.key(key), "must be \(TimeSpan.form); got \(text)")
        }
        return milliseconds
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.interval.effective(Self.text(interval)), Keys.since.effective(Self.text(since)),
            Keys.emit.effective(emit), Keys.maxPages.effective(maxPages),
        ]
    }

    /// A span in its largest whole unit, as the file would write it.
    private static func text(_ milliseconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000)]
        where milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds / 1000)s"
    }
}
