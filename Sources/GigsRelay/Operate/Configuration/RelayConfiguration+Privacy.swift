extension RelayConfiguration {
    /// `[privacy]`: what happens to a user's stored events when Gigs deletes the user (``Erasure``).
    public struct Privacy: Sendable {
        /// Whether every stored `com.gigs.user.deleted` erases the user's earlier events, then itself once
        /// its deliveries finished.
        public var eraseOnUserDeleted: Bool
    }
}

extension RelayConfiguration.Privacy {
    enum Keys {
        static let eraseOnUserDeleted = ConfigKey.bool(
            "erase_on_user_deleted", default: true, reload: .needsRestart,
            "every stored `com.gigs.user.deleted` erases the payloads of the user's earlier events (and their "
                + "attempts' texts, skipping their pending deliveries), then its own once its deliveries finished")
    }

    static let section = ConfigSection(
        name: "privacy",
        summary: "Erasure of a user's personal data. See [encryption and erasure](encryption.md).",
        keys: [Keys.eraseOnUserDeleted])

    init(section: TOMLSection) throws(ConfigurationError) {
        eraseOnUserDeleted = try section.read(Keys.eraseOnUserDeleted)
    }

    var effectiveKeys: [EffectiveKey] {
        [Keys.eraseOnUserDeleted.effective(eraseOnUserDeleted)]
    }
}
