import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence demo`: the main job, end to end, on the bundled demo account.
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the whole pipeline on the bundled demo account (three monthly snapshots).")

  @Option(help: "Where to put the demo database.")
  var db = "Reports/demo/demo.sqlite"

  func run() throws {
    try FileManager.default.createDirectory(
      atPath: (db as NSString).deletingLastPathComponent.isEmpty ? "." : (db as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true)
    let store = try EvidenceStore(path: db, create: true, now: Clock.now())
    for (url, capturedAt) in try DemoData.snapshots() {
      let data = try Data(contentsOf: url)
      let source = IngestSource(name: "demo/" + url.lastPathComponent, bytes: [UInt8](data), modificationTime: nil)
      let outcome = try store.ingest(source, options: IngestOptions(capturedAt: capturedAt, label: "demo", now: Clock.now()))
      switch outcome {
      case .ingested(let r):
        Terminal.out("ingested \(source.name) as snapshot \(r.id) (captured \(r.capturedAt))")
        let outcome = try store.assess(snapshotID: r.id, now: Clock.now())
        Terminal.out(AssessSummary.line(record: r, outcome: outcome))
      case .alreadyIngested(let r):
        Terminal.out("\(source.name): already ingested as snapshot \(r.id)")
      }
    }
    Terminal.out("database: \(db)  (try: iam-evidence snapshots --db \(db))")
  }
}
