import Foundation
import Testing

@testable import IAMEvidence

/// A kill after a snapshot's commit leaves it without results (issue 14, defect 6): re-ingesting the
/// same bytes assesses it, and the reading commands refuse it with a message saying how to assess
/// it, instead of reporting an empty population.
@Suite(.temporaryDirectories) struct UnassessedSnapshotTests {
  /// Runs `ingest` of `file` into `db` and SIGKILLs it once the snapshot is committed, before its
  /// results are stored (the debug binary's pause hook).
  static func killAfterCommit(db: String, file: String, in dir: URL) throws {
    let marker = dir.appendingPathComponent("committed-\(UUID().uuidString)").path
    let child = Process()
    child.executableURL = TestSupport.binary
    child.arguments = ["ingest", "--db", db, "--captured-at", "2024-02-29T23:00:00Z", file]
    child.environment = ProcessInfo.processInfo.environment.merging(["IAM_EVIDENCE_TEST_PAUSE_AFTER_COMMIT": marker]) { $1 }
    child.standardOutput = FileHandle.nullDevice
    try child.run()
    var waited = 0
    while !FileManager.default.fileExists(atPath: marker) && waited < 600 {
      usleep(50_000)
      waited += 1
    }
    #expect(FileManager.default.fileExists(atPath: marker), "child never reached the pause point")
    kill(child.processIdentifier, SIGKILL)
    child.waitUntilExit()
    #expect(child.terminationReason == .uncaughtSignal)
  }

  @Test func aKillAfterTheCommitIsHealedByIngestingTheSameFileAgain() throws {
    let dir = try TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("e.sqlite").path
    let january = TestSupport.fixture("dev-series/2024-01.json").path
    let february = TestSupport.fixture("dev-series/2024-02.json").path
    #expect(try TestSupport.run(["ingest", "--db", db, "--captured-at", "2024-01-31T23:00:00Z", january]).status == 0)
    try Self.killAfterCommit(db: db, file: february, in: dir)

    let store = try EvidenceStore(readingAt: db)
    #expect(try store.snapshots().count == 2)
    #expect(try !store.isAssessed(snapshotID: 2), "the kill left snapshot 2 without results")

    // Every command that needs results refuses it, naming the snapshot and the fix.
    let refusal = "snapshot 2 was never assessed; run `iam-evidence assess --snapshot 2`"
    let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path
    for command in [
      ["findings"], ["trend"], ["diff", "1", "2"],
      ["report", "--templates", templates, "--out", dir.appendingPathComponent("r").path],
      ["report", "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out", dir.appendingPathComponent("r").path],
    ] {
      let run = try TestSupport.run([command[0], "--db", db] + command.dropFirst())
      #expect(run.status == 2, "\(command)")
      #expect(run.stderr.hasSuffix(refusal + "\n"), "\(command): \(run.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r").path), "no report written")

    // The same bytes again: not "nothing added", but assessed.
    let again = try TestSupport.run(["ingest", "--db", db, february])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stdout.contains("already ingested as snapshot 2"), "\(again.stdout)")
    #expect(again.stdout.contains("never assessed (its ingest was interrupted): assessed now"), "\(again.stdout)")
    #expect(again.stdout.contains("assessed snapshot 2 "), "\(again.stdout)")
    #expect(try store.isAssessed(snapshotID: 2))
    #expect(try TestSupport.run(["findings", "--db", db, "--snapshot", "2"]).status == 0)
    #expect(try TestSupport.run(["trend", "--db", db]).status == 0)
    // And a third time there is nothing left to do.
    let third = try TestSupport.run(["ingest", "--db", db, february])
    #expect(third.stdout.contains("already ingested as snapshot 2") && third.stdout.contains("nothing added"), "\(third.stdout)")
    #expect(!third.stdout.contains("assessed"))
  }

  @Test func packageAssessesASnapshotWithoutResults() throws {
    let (store, dir) = try TestSupport.makeStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    // Committed through the store API without its results, as the kill leaves it.
    let record = try TestSupport.ingest(store, TestSupport.fixture("dev-small.json"))
    #expect(try !store.isAssessed(snapshotID: record.id))
    let zip = dir.appendingPathComponent("p.zip").path
    let run = try TestSupport.run([
      "package", "--db", store.path, "--from", "2024-01-01", "--to", "2024-12-31", "--out", zip, "--templates",
      TestSupport.packageRoot.appendingPathComponent("Templates").path, "--generated-at", "2099-07-02T00:00:00Z",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(try store.isAssessed(snapshotID: record.id))
    #expect(run.stdout.contains("A.8.2 verdict: not-effective"), "\(run.stdout)")
  }
}
