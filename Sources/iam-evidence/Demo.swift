import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence demo`: the main job, end to end, on the bundled demo account.
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Run the whole pipeline on the bundled demo account (three monthly snapshots), then the demo organisation's report and package, which show its coverage gap."
  )

  @Option(
    help:
      "Where to put the demo database (beside it: the report in `report`, `quarter.zip`, the organisation's report in `organisation` and `organisation-quarter.zip`)."
  )
  var db = "Reports/demo/demo.sqlite"

  @Option(help: "Templates folder (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones beside the executable).")
  var templates: String?

  func run() throws {
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    let model = try EvidenceWorkflow.runDemo(
      databasePath: db, templates: templateSet,
      generatedAt: { try GenerationTime.resolve(option: nil, environment: ProcessInfo.processInfo.environment, now: Clock.now()) },
      now: Clock.now
    ) { event in
      switch event {
      case .ingested(let name, let r, let assessment):
        Terminal.out("ingested \(name) as snapshot \(r.id) (captured \(r.capturedAt))")
        Terminal.out(AssessSummary.line(record: r, summary: assessment))
      case .alreadyIngested(let name, let r):
        Terminal.out("\(name): already ingested as snapshot \(r.id)")
      case .wrote(let url):
        Terminal.out("wrote \(url.path)")
      case .reviewed(.imported(let id, let snapshot, let rows, let reviewers, _)):
        Terminal.out(
          "imported the demo review sheet as review \(id) of snapshot \(snapshot): \(rows) row(s), reviewed by \(reviewers.joined(separator: ", "))"
        )
      case .reviewed(.alreadyImported(let id, let snapshot)):
        Terminal.out("demo review sheet: already imported as review \(id) of snapshot \(snapshot)")
      case .reviewNotImported(let why):
        Terminal.note("the demo review sheet was not imported: \(why)")
      case .accounts(let coverage):
        Terminal.out("")
        Terminal.out("the demo organisation over the report's period (its report and package above):")
        Terminal.out(AccountsText.render(coverage), terminator: "")
        Terminal.out("")
      }
    }
    guard let model else { return }
    Terminal.out(
      "latest snapshot: \(model.verdictSummary) (\(Plural.count(model.findings.count, "finding")), \(Plural.count(model.results.count, "result")) examined)"
    )
    if model.isPeriod {
      Terminal.out("\(model.periodVerdictSummary) (\(Plural.count(model.periodFindings.count, "finding")) seen in the period)")
    }
    Terminal.out(
      "database: \(db)  (next: iam-evidence findings --db \(db) --account \(DemoData.account); iam-evidence diff --db \(db) --account \(DemoData.account) previous latest; iam-evidence accounts --db \(db) --scope \(URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("scope.json").path))"
    )
  }
}
