import Foundation

extension TOMLSection {
    /// The `templates` key of a mail action: a folder, relative to the configuration file's folder unless
    /// absolute, and whether the file set it (then it must exist; else a missing folder means the built-in
    /// templates alone).
    func templateFolder(_ declared: ConfigKey<String>, baseDirectory: String) throws(ConfigurationError) -> (
        path: String, set: Bool
    ) {
        let set = contains(declared.name)
        let path = try read(declared)
        guard !path.isEmpty else { throw ConfigurationError(key: key(declared), "must not be empty") }
        let absolute =
            path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
        return (absolute, set)
    }
}
