import CSQLite

/// The SQLite library version linked at run time.
public let sqliteVersion = String(cString: sqlite3_libversion())
