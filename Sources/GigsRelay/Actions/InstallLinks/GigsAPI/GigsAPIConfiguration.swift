import Foundation

/// `[gigs]`: how to reach the Gigs REST API.
public struct GigsAPIConfiguration: Sendable {
    /// `gigs.api_url`: default `https://api.gigs.com`; plain http only to loopback (tests).
    public var apiURL: URL
    /// `gigs.allow_insecure`: plain http to a host that is not loopback is allowed.
    public var allowInsecure = false
    /// `gigs.project`: the project id every call is under.
    public var project: String
    /// `gigs.token`: a reference to the project API key.
    public var token: SecretReference

    init(section: TOMLSection) throws(ConfigurationError) {
        if try section.string("api_url") == nil {
            self.apiURL = URL(string: "https://api.gigs.com")!
        } else {
            self.apiURL = try section.url("api_url")
            self.allowInsecure = try section.bool("allow_insecure") ?? false
        }
        let project = try section.requiredString("project")
        guard project.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigurationError(key: section.key("project"), "must be a Gigs project id")
        }
        self.project = project
        self.token = try SecretReference(parsing: try section.requiredString("token"), key: section.key("token"))
    }
}
