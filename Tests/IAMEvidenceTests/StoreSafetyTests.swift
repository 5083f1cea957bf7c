import Foundation
import Testing

@testable import IAMEvidence

/// Crash safety and concurrency of the store, proven with real child processes.
@Suite(.temporaryDirectories) struct StoreSafetyTests {
  @Test func killedIngestLeavesTheDatabaseAsItWas() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    // A first snapshot that must survive untouched.
    let first = try TestSupport.run(["ingest", "--db", db, TestSupport.fixture("dev-series/2024-01.json").path])
    #expect(first.status == 0)
    let before = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
    let snapshotsBefore = try before.count("SELECT count(*) FROM snapshots")
    let statesBefore = try before.count("SELECT count(*) FROM principal_states")
    let documentsBefore = try before.count("SELECT count(*) FROM documents")

    let marker = dir.appendingPathComponent("paused").path
    let child = Process()
    child.executableURL = TestSupport.binary
    child.arguments = ["ingest", "--db", db, TestSupport.fixture("dev-series/2024-02.json").path]
    child.environment = ProcessInfo.processInfo.environment.merging(["IAM_EVIDENCE_TEST_PAUSE_INGEST": marker]) { $1 }
    child.standardOutput = FileHandle.nullDevice
    try child.run()
    // Wait (bounded) until the child has written its principal rows inside the open transaction.
    var waited = 0
    while !FileManager.default.fileExists(atPath: marker) && waited < 600 {
      usleep(50_000)
      waited += 1
    }
    #expect(FileManager.default.fileExists(atPath: marker), "child never reached the pause point")
    kill(child.processIdentifier, SIGKILL)
    child.waitUntilExit()
    #expect(child.terminationReason == .uncaughtSignal)

    let after = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
    #expect(try after.count("SELECT count(*) FROM snapshots") == snapshotsBefore)
    #expect(try after.count("SELECT count(*) FROM principal_states") == statesBefore)
    #expect(try after.count("SELECT count(*) FROM documents") == documentsBefore)
    #expect(try after.count("SELECT count(*) FROM snapshot_principals WHERE snapshot_id NOT IN (SELECT id FROM snapshots)") == 0)
    #expect(try after.count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'") == 0)
    // And the same file ingests cleanly afterwards.
    let retry = try TestSupport.run(["ingest", "--db", db, TestSupport.fixture("dev-series/2024-02.json").path])
    #expect(retry.status == 0)
    #expect(try after.count("SELECT count(*) FROM snapshots") == snapshotsBefore + 1)
  }

  @Test func twoIngestProcessesAtOnceBothSucceed() throws {
    for _ in 0..<3 {
      let dir = try TestSupport.temporaryDirectory()
      let db = dir.appendingPathComponent("new.sqlite").path
      let files = ["dev-series/2024-01.json", "dev-series/2024-03.json"]
      let processes = try files.map { name -> (Process, Pipe) in
        let p = Process()
        p.executableURL = TestSupport.binary
        p.arguments = ["ingest", "--db", db, TestSupport.fixture(name).path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
      }
      for (p, err) in processes {
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(message)")
      }
      let store = try EvidenceStore(path: db, create: false, now: TestSupport.fixedNow)
      #expect(try store.count("SELECT count(*) FROM snapshots") == 2)
      // Each migration applied exactly once, despite the race.
      #expect(try store.count("SELECT count(*) FROM schema_migrations") == Schema.migrations.count)
    }
  }

  @Test func standardInputIsIngestedWithTheIngestTime() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    let run = try TestSupport.run(
      ["ingest", "--db", db, "--label", "piped", "-"], stdin: try Data(contentsOf: TestSupport.fixture("dev-small.json")))
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("account 239588431284"))
    let list = try TestSupport.run(["snapshots", "--db", db, "--format", "json"])
    let json = try JSONParser.parse(list.stdout)
    #expect(json.arrayValue?.first?["captured_at_source"]?.stringValue == "ingest-time")
    #expect(json.arrayValue?.first?["source"]?.stringValue == "-")
    #expect(json.arrayValue?.first?["counts"]?["inline_policies"] == .number("18"))
  }

  @Test func defaultDatabaseComesFromTheEnvironment() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("from-env.sqlite").path
    let run = try TestSupport.run(
      ["ingest", TestSupport.fixture("dev-small.json").path], environment: ["IAM_EVIDENCE_DB": db])
    #expect(run.status == 0)
    #expect(FileManager.default.fileExists(atPath: db))
    let inCwd = try TestSupport.run(["ingest", TestSupport.fixture("dev-small.json").path], cwd: dir)
    #expect(inCwd.status == 0)
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("iam-evidence.sqlite").path))
  }
}
