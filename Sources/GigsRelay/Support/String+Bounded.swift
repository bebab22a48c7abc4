extension String {
    /// At most `limit` characters, marked when cut: attempt errors and outputs stay bounded.
    func bounded(_ limit: Int = 500) -> String {
        count <= limit ? self : String(prefix(limit)) + "…"
    }
}
