import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence report`: the HTML report and XML evidence for a snapshot or a period.
struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write report.html, evidence.xml (+ evidence.xsd) and population.csv for a snapshot or a period.",
    discussion: """
      By default under Reports/<account>/<captured date>/. A period (--from/--to) reports the latest \
      snapshot in it as the current state and every snapshot in it as history. The clock is injected \
      (--generated-at, else SOURCE_DATE_EPOCH), so the same database gives byte-identical files. \
      population.csv holds one row per result; a check with more than \(HTMLReport.populationRowLimit) results is summarised in \
      report.html with its counts, which then names population.csv and evidence.xml with their row \
      counts and SHA-256.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "A snapshot id, latest, previous, or a date (ignored with --from/--to).")
  var snapshot = "latest"

  @Option(help: "Start of the reporting period.")
  var from: Timestamp?

  @Option(help: "End of the reporting period (a bare date includes that whole day).")
  var to: String?

  @Option(help: "The account (required when the database holds several).")
  var account: String?

  @Option(
    help:
      "An organisation: all, or account ids separated by commas. One report for all of them: the organisation's verdicts, coverage, ranking and trend, then one section per account."
  )
  var accounts: String?

  @Option(help: "With --accounts: the scope file (the accounts in scope, their names and owners).")
  var scope: String?

  @Option(help: "Output folder (default: Reports/<account>/<captured date>/).")
  var out: String?

  @Option(help: "Templates folder (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones beside the executable).")
  var templates: String?

  @Option(help: "The report's timestamp (default: SOURCE_DATE_EPOCH, else now); not earlier than the data's latest ingest time.")
  var generatedAt: Timestamp?

  func validate() throws {
    if (from == nil) != (to == nil) { throw ValidationError("--from and --to go together") }
    if accounts != nil && account != nil { throw ValidationError("give --account or --accounts, not both") }
    if scope != nil && accounts == nil { throw ValidationError("--scope goes with --accounts") }
    if accounts != nil && snapshot != "latest" {
      throw ValidationError("--snapshot does not go with --accounts (each account's latest, or --from/--to)")
    }
  }

  func run() throws {
    let workflow = try database.reader()
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    let time = try GenerationTime.resolve(option: generatedAt, environment: ProcessInfo.processInfo.environment, now: Clock.now())
    if let accounts {
      try runOrganisation(try AccountSelection(parsing: accounts), workflow: workflow, templates: templateSet, time: time)
      return
    }
    let scope: ReportScope
    if let from, let end = try PeriodEnd.parse(to) {
      scope = .period(from: from, to: end)
    } else {
      scope = .snapshot(snapshot)
    }
    let timings = Timings()
    let model = try workflow.evidence(scope: scope, account: account, generatedAt: time)
    Allocator.releaseFreeMemory()
    timings.mark("report: evidence gathered")
    if generatedAt != nil {
      // Refused before anything is written.
      try EvidenceWorkflow.requireGeneratedAt(time, notBeforeIngestOf: model.snapshots + (model.periodStart.map { [$0] } ?? []))
    }
    let directory = out.map { URL(fileURLWithPath: $0) } ?? ReportWriter.defaultDirectory(for: model, base: URL(fileURLWithPath: "Reports"))
    let written = try ReportRenderer.write(model, templates: templateSet, to: directory) { timings.mark("report: \($0)") }
    timings.mark("report: put in place")
    for url in written { Terminal.out("wrote \(url.path)") }
    Terminal.out(
      "\(model.verdictSummary) (\(Plural.count(model.findings.count, "finding")) in snapshot \(model.current.id), \(Plural.count(model.results.count, "result")) examined)"
    )
    if model.isPeriod {
      Terminal.out("\(model.periodVerdictSummary) (\(Plural.count(model.periodFindings.count, "finding")) seen in the period)")
    }
  }

  /// `--accounts`: one report for the organisation.
  func runOrganisation(_ selection: AccountSelection, workflow: EvidenceWorkflow, templates: TemplateSet, time: Timestamp) throws {
    let timings = Timings()
    let org = try workflow.organisationEvidence(
      accounts: selection, scope: try AccountScope.option(scope), from: from, to: try PeriodEnd.parse(to), generatedAt: time)
    timings.mark("report: evidence of \(org.accounts.count) accounts gathered")
    if generatedAt != nil { try EvidenceWorkflow.requireGeneratedAt(time, notBeforeIngestOf: org.snapshots) }
    let directory =
      out.map { URL(fileURLWithPath: $0) } ?? OrganisationReportRenderer.defaultDirectory(for: org, base: URL(fileURLWithPath: "Reports"))
    let written = try OrganisationReportRenderer.write(org, templates: templates, to: directory) { timings.mark("report: \($0)") }
    timings.mark("report: put in place")
    for url in written { Terminal.out("wrote \(url.path)") }
    let c = org.coverage
    Terminal.out(
      "organisation: \(Plural.count(c.inScope.count, "account")) in scope, \(org.accounts.count) with evidence, \(Plural.count(c.coverageGaps.count, "coverage gap")), \(c.outOfScope.count) out of scope"
    )
    Terminal.out(org.verdictSummary)
  }
}
