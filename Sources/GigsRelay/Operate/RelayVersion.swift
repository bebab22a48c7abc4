/// gigs-relay's version, shown by `--version` and the `gigs_relay_build_info` metric.
public enum RelayVersion {
    public static let current = "0.1.0-dev"
}
