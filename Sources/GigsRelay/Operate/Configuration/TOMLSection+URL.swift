import Foundation

extension TOMLSection {
    /// Reads an https URL, or an http one to loopback (or anywhere with `allow_insecure = true`).
    func url(_ key: String) throws(ConfigurationError) -> URL {
        let text = try requiredString(key)
        let allowInsecure = try bool("allow_insecure") ?? false
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
