/// The `store_keys` table, written once for both backends: the id of every key the store's rows may be
/// sealed with (``PayloadSealer``). A key is listed before the first row sealed with it is written, and
/// unlisted only once no row is (`gigs-relay store rekey`), so a store opened without one of them is
/// refused before anything is written.
enum StoreKeySQL {
    /// The listed key ids.
    static let listed = "SELECT key_id FROM store_keys ORDER BY added_at, key_id"

    /// Lists key $1 at time $2 unless it is listed.
    static let list = "INSERT INTO store_keys (key_id, added_at) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING"
}
