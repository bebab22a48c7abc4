import Foundation

extension TOMLSection {
    /// Reads a declared URL key (required, or with a default): https, or http to loopback (or anywhere
    /// with `allowInsecure`, the section's `allow_insecure`).
    func url(_ key: ConfigKey<String>, allowInsecure: Bool) throws(ConfigurationError) -> URL {
        try url(read(key), key: key.name, allowInsecure: allowInsecure)
    }

    private func url(_ text: String, key: String, allowInsecure: Bool) throws(ConfigurationError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else {
            throw ConfigurationError(key: self.key(key), "must be an absolute http(s) URL, got \"\(text)\"")
        }
        switch scheme {
        case "https": return url
        case "http" where allowInsecure || IPNetwork.isLoopback(host: host): return url
        case "http":
            throw ConfigurationError(
                key: self.key(key),
                "plain http is allowed only to loopback hosts; use https or set allow_insecure = true"
            )
        default:
            throw ConfigurationError(key: self.key(key), "must be an http or https URL, got \"\(text)\"")
        }
    }
}
