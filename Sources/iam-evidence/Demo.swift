import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence demo`: the main job, end to end, on the bundled demo account.
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the whole pipeline on the bundled demo account (three monthly snapshots).")

  @Option(help: "Where to put the demo database (the report goes beside it).")
  var db = "Reports/demo/demo.sqlite"

  @Option(help: "Templates folder (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones beside the executable).")
  var templates: String?

  func run() throws {
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
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
    // The main job's last step: the quarter's report and evidence.
    let records = try store.snapshots()
    guard let first = records.first, let last = records.last else { return }
    let model = try store.evidence(
      scope: .period(from: first.capturedAt, to: last.capturedAt), account: nil,
      generatedAt: try GenerationTime.resolve(option: nil, environment: ProcessInfo.processInfo.environment, now: Clock.now()))
    let outDir = URL(fileURLWithPath: (db as NSString).deletingLastPathComponent.isEmpty ? "." : (db as NSString).deletingLastPathComponent)
    for url in try ReportWriter.write(try ReportRenderer.render(model, templates: templateSet), to: outDir) {
      Terminal.out("wrote \(url.path)")
    }
    Terminal.out(
      "A.8.2 verdict for the latest snapshot: \(model.verdict.rawValue) (\(model.findings.count) finding(s), \(model.results.count) results examined)"
    )
    Terminal.out("database: \(db)  (next: iam-evidence findings --db \(db); iam-evidence diff --db \(db) previous latest)")
  }
}
