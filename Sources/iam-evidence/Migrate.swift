import ArgumentParser
import IAMEvidence

/// `iam-evidence migrate`: bring a database's schema up to date (reading commands never do).
struct Migrate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Bring the database's schema up to date with this version of the tool.",
    discussion: """
      Reading commands (snapshots, findings, report, diff, trend, check-db) never change a database, \
      so a database written by an earlier version is upgraded here, or by ingest, assess and package. \
      Another program's database is refused.
      """)

  @OptionGroup var database: DatabaseOptions

  func run() throws {
    let store = try database.openForWriting(create: false)
    if store.migrationsApplied.isEmpty {
      Terminal.out("\(store.path): schema up to date")
    } else {
      Terminal.out("\(store.path): applied schema migration(s) \(store.migrationsApplied.joined(separator: ", "))")
    }
  }
}
