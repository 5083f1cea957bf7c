import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// Reading commands never write (issue 14, defect 7): they open the database read-only, refuse a
/// file that is not an up-to-date IAM Evidence database, and leave every byte (and its folder) as it
/// was. Only writing commands create or migrate, and they refuse another program's database.
@Suite(.temporaryDirectories) struct ReadOnlyDatabaseTests {
  /// The bytes, modification time and folder listing of a database file, to compare before and after.
  struct Fingerprint: Equatable {
    var bytes: Data
    var modified: Date?
    var folder: [String]

    init(_ url: URL) throws {
      bytes = try Data(contentsOf: url)
      modified = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
      folder = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path).sorted()
    }
  }

  /// Another program's database: a rollback-journal SQLite file with a table of its own.
  static func foreignDatabase(in dir: URL) throws -> URL {
    let url = dir.appendingPathComponent("crm.sqlite")
    let db = try SQLiteConnection(path: url.path)
    try db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')")
    return url
  }

  static let readCommands: [[String]] = [
    ["snapshots"], ["findings"], ["findings", "--status", "all", "--format", "json"], ["trend"], ["diff", "1", "2"],
    ["report", "--out", "/nonexistent-report-folder"], ["check-db"], ["accounts"], ["trend", "--accounts", "all"],
    ["diff", "--accounts", "all"],
  ]

  @Test func readCommandsLeaveAnotherProgramsDatabaseUntouched() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = try Self.foreignDatabase(in: dir)
    let before = try Fingerprint(db)
    for command in Self.readCommands {
      let run = try TestSupport.run([command[0], "--db", db.path] + command.dropFirst())
      #expect(run.status == 2, "\(command)")
      #expect(
        run.stderr == "error: \(db.path): not an IAM Evidence database (no schema_migrations table; it holds objects \"customers\")\n",
        "\(command): \(run.stderr)")
      #expect(try Fingerprint(db) == before, "\(command) changed the file or its folder")
    }
    // The table is still the other program's, and nothing of ours was added.
    let check = try SQLiteConnection(path: db.path, mode: .readOnly)
    #expect(try check.scalar("SELECT count(*) FROM sqlite_master") == .integer(1))
    #expect(try check.scalar("PRAGMA journal_mode") == .text("delete"))
  }

  @Test func anEmptyFileStaysEmptyAfterAReadCommand() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("empty.sqlite")
    #expect(FileManager.default.createFile(atPath: db.path, contents: Data()))
    for command in Self.readCommands {
      let run = try TestSupport.run([command[0], "--db", db.path] + command.dropFirst())
      #expect(run.status == 2, "\(command)")
      #expect(run.stderr == "error: \(db.path): not an IAM Evidence database (an empty file)\n", "\(command): \(run.stderr)")
    }
    #expect(try Data(contentsOf: db).isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["empty.sqlite"])
  }

  @Test func writingCommandsRefuseAnotherProgramsDatabase() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = try Self.foreignDatabase(in: dir)
    let before = try Fingerprint(db)
    let fixture = TestSupport.fixture("dev-small.json").path
    for command in [
      ["ingest", fixture], ["assess"], ["migrate"],
      ["package", "--from", "2024-01-01", "--to", "2024-12-31", "--out", dir.appendingPathComponent("p.zip").path],
    ] {
      let run = try TestSupport.run([command[0], "--db", db.path] + command.dropFirst())
      #expect(run.status == 2, "\(command)")
      #expect(
        run.stderr
          == "error: \(db.path): not an IAM Evidence database (no schema_migrations table; it holds objects \"customers\"); refusing to add tables to it\n",
        "\(command): \(run.stderr)")
      #expect(try Fingerprint(db) == before, "\(command) changed the file or its folder")
    }
    // A database with this tool's tables and one more of someone else's is not ours either.
    let (store, ours) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: ours) }
    try SQLiteConnection(path: store.path, mode: .readWrite).execute("CREATE TABLE notes (text TEXT)")
    #expect {
      try EvidenceStore(path: store.path, create: false, now: TestSupport.fixedNow)
    } throws: { "\($0)".contains("not an IAM Evidence database (it holds objects \"notes\", which are not part of this tool's schema)") }
    #expect {
      try EvidenceStore(readingAt: store.path)
    } throws: { "\($0)".contains("not an IAM Evidence database (it holds objects \"notes\"") }
  }

  /// Other programs keep migration tables too (Rails: `schema_migrations(version)`).
  @Test func anotherProgramsSchemaMigrationsTableIsNotOurs() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    for (name, sql, why) in [
      (
        "named.sqlite",
        "CREATE TABLE schema_migrations (name TEXT, applied_at TEXT); INSERT INTO schema_migrations VALUES ('create_users', 'x')",
        "its schema_migrations table names none of this tool's migrations"
      ),
      ("rails.sqlite", "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)", "its schema_migrations table is not this tool's"),
    ] {
      let url = dir.appendingPathComponent(name)
      try SQLiteConnection(path: url.path).execute(sql)
      let before = try Fingerprint(url)
      let read = try TestSupport.run(["snapshots", "--db", url.path])
      #expect(read.stderr == "error: \(url.path): not an IAM Evidence database (\(why))\n", "\(read.stderr)")
      let write = try TestSupport.run(["ingest", "--db", url.path, TestSupport.fixture("dev-small.json").path])
      #expect(
        write.stderr == "error: \(url.path): not an IAM Evidence database (\(why)); refusing to add tables to it\n", "\(write.stderr)")
      #expect(try Fingerprint(url) == before)
    }
  }

  /// Our own database switched to a rollback journal: a read command that tried to write (a WAL
  /// switch, a migration, a page-size pragma) would change its bytes or leave -wal/-shm files.
  @Test func everyReadCommandLeavesTheDatabaseFileAndFolderAsTheyWere() throws {
    let dir = try ReportCommandTests.quarterDatabase()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("evidence.sqlite")
    try SQLiteConnection(path: db.path, mode: .readWrite).execute("PRAGMA journal_mode = DELETE")
    #expect(try Set(FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["evidence.sqlite"])
    let before = try Fingerprint(db)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("iam-evidence-tests-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: out) }
    let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path
    for command in [
      ["snapshots"], ["findings", "--status", "all"], ["trend"], ["diff", "previous", "latest"], ["check-db"], ["accounts"],
      ["trend", "--accounts", "all"], ["diff", "--accounts", "all", "--format", "json"],
      ["report", "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out", out.path],
    ] {
      let run = try TestSupport.run([command[0], "--db", db.path] + command.dropFirst())
      #expect(run.status == 0, "\(command): \(run.stderr)")
      #expect(try Fingerprint(db) == before, "\(command) wrote to the database or its folder")
    }
  }

  /// Our own database as it is used, in WAL mode: reading commands leave no `-wal` or `-shm`
  /// beside it (a read-only connection creates them and cannot remove them), and its bytes as they
  /// were. While a writer has them open, they are left alone.
  @Test func readCommandsLeaveNoWriteAheadFilesBesideAWALDatabase() throws {
    let dir = try ReportCommandTests.quarterDatabase()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("evidence.sqlite")
    #expect(EvidenceStore.isWAL(db.path))
    #expect(try Set(FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["evidence.sqlite"])
    let before = try Fingerprint(db)
    for command in [["snapshots"], ["findings", "--status", "all"], ["trend"], ["check-db"], ["privileged"]] {
      let run = try TestSupport.run([command[0], "--db", db.path] + command.dropFirst())
      #expect(run.status == 0, "\(command): \(run.stderr)")
      #expect(try Fingerprint(db) == before, "\(command) left files beside the database or changed it")
    }
    // In-process, with the store closed.
    do {
      let store = try EvidenceStore(readingAt: db.path)
      #expect(try store.snapshots().count == 3)
      #expect(throws: (any Error).self) { try store.integer("UPDATE snapshots SET label = ?", ["changed"]) }
    }
    #expect(try Fingerprint(db) == before)
    // A writer's connection open meanwhile: its files stay, and the reader still reads.
    let writer = try SQLiteConnection(path: db.path, mode: .readWrite)
    _ = try writer.scalar("SELECT count(*) FROM snapshots")
    #expect(FileManager.default.fileExists(atPath: db.path + "-wal"))
    let run = try TestSupport.run(["snapshots", "--db", db.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(FileManager.default.fileExists(atPath: db.path + "-wal") && FileManager.default.fileExists(atPath: db.path + "-shm"))
    #expect(try Data(contentsOf: db) == before.bytes)
    _ = writer
  }

  /// Read-only media: the database file and its folder made read-only. Root ignores those modes, so
  /// the way such media are read (immutable, no -wal or -shm) is also forced in-process.
  @Test func aDatabaseOnReadOnlyMediaCanBeRead() throws {
    let dir = try ReportCommandTests.quarterDatabase()
    let db = dir.appendingPathComponent("evidence.sqlite")
    defer {
      chmod(dir.path, 0o755)
      try? FileManager.default.removeItem(at: dir)
    }
    #expect(try Set(FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["evidence.sqlite"], "checkpointed, no -wal")
    #expect(chmod(db.path, 0o444) == 0 && chmod(dir.path, 0o555) == 0)
    let before = try Fingerprint(db)

    let store = try EvidenceStore(readingAt: db.path, immutable: true)
    #expect(try store.snapshots().count == 3)
    #expect(try !store.workflow.findings(snapshot: "latest", account: nil, check: nil, statuses: nil).results.isEmpty)
    #expect(throws: (any Error).self) { try store.integer("UPDATE snapshots SET label = ?", ["changed"]) }
    let integrity = try store.checkIntegrity()
    #expect(integrity.isOK && integrity.heads.snapshots.count == 3, "\(integrity.problems)")
    let model = try store.workflow.evidence(scope: .snapshot("latest"), account: nil, generatedAt: TestSupport.fixedNow)
    #expect(model.ledger.latest?.entry == 6)
    #expect(try Fingerprint(db) == before, "no -wal or -shm beside it")

    let run = try TestSupport.run(["findings", "--db", db.path, "--status", "all", "--format", "csv"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.split(separator: "\n").count > 10)
    #expect(try Data(contentsOf: db) == before.bytes)
    if getuid() != 0 {
      // The modes bind: SQLite cannot create -shm, so the file was read as immutable.
      #expect(try Fingerprint(db) == before)
    }
  }

  @Test func anOutdatedSchemaIsNotMigratedByAReadCommand() throws {
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let last = try #require(Schema.migrations.last?.name)
    try SQLiteConnection(path: store.path, mode: .readWrite).run("DELETE FROM schema_migrations WHERE name = ?", [last])
    let run = try TestSupport.run(["snapshots", "--db", store.path])
    #expect(run.status == 2)
    #expect(
      run.stderr
        == "error: \(store.path): the database was written by an earlier iam-evidence (schema migration \"\(last)\" not applied); run `iam-evidence migrate --db \(store.path)` to upgrade it (reading commands never change a database)\n",
      "\(run.stderr)")
    let raw = try SQLiteConnection(path: store.path, mode: .readOnly)
    #expect(try raw.scalar("SELECT count(*) FROM schema_migrations WHERE name = ?", [last]) == .integer(0))
  }

  @Test func readingCommandsNeverCreateADatabase() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("none.sqlite").path
    for command in Self.readCommands {
      let run = try TestSupport.run([command[0], "--db", db] + command.dropFirst())
      #expect(run.status == 2, "\(command)")
      #expect(run.stderr.contains("no such database"), "\(command): \(run.stderr)")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
  }
}
