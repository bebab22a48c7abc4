import Foundation

extension SQLiteConnection {
    /// Refuses a store holding rows sealed with a key `sealer` lacks (``StoreKeySQL``); with `listing`, lists
    /// its current key before anything is sealed with it. A store not yet migrated lists none.
    func checkKeys(_ sealer: PayloadSealer, listing: Bool) throws(StoreError) {
        let listed: [String]
        do {
            listed = try rows(StoreKeySQL.listed, []) { $0.text(at: 0) ?? "" }
        } catch  where error.message.hasPrefix("no such table") {
            listed = []
        } catch {
            throw StoreError.readFailed(error)
        }
        try sealer.check(recorded: listed)
        guard listing, let current = sealer.current, !listed.contains(current.id) else { return }
        do throws(SQLiteError) {
            _ = try rows(StoreKeySQL.list, [.text(current.id), .integer(unixMilliseconds())]) { _ in () }
        } catch {
            throw StoreError.unavailable(error)
        }
    }
}
