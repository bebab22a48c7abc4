#ifndef CRELAY_SQLITE_SHIM_H
#define CRELAY_SQLITE_SHIM_H

#include <sqlite3.h>

/// Binds a blob that SQLite copies at once (`SQLITE_TRANSIENT` is a cast macro Swift cannot import).
static inline int relay_sqlite_bind_blob(sqlite3_stmt *stmt, int index, const void *data, int len) {
    return sqlite3_bind_blob(stmt, index, data, len, SQLITE_TRANSIENT);
}

/// Binds UTF-8 text that SQLite copies at once.
static inline int relay_sqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text, int len) {
    return sqlite3_bind_text(stmt, index, text, len, SQLITE_TRANSIENT);
}

#endif
