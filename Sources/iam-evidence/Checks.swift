import ArgumentParser
import IAMEvidence

/// `iam-evidence checks`: the catalog.
struct Checks: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the check catalog with its ISO/IEC 27001:2022 controls.")

  @Option(help: "text, json or markdown.")
  var format: Format = .text

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, markdown }

  func run() throws {
    switch format {
    case .json: Terminal.raw(JSONWriter.pretty(CatalogDocument.json()))
    case .markdown: Terminal.raw(CatalogDocument.markdownTable())
    case .text:
      Terminal.out("action catalog: \(ActionCatalog.bundled.sourceDescription)")
      for check in CheckCatalog.all.map(\.description) {
        Terminal.out(
          "\(check.id) (v\(check.version))\(check.isPrimary ? "  [founding test of \(check.primaryControl ?? "its control")]" : "")")
        Terminal.out("  \(check.title)")
        Terminal.out("  controls: \(check.controls.joined(separator: ", "))")
        Terminal.out("  population: \(check.population)")
        if let target = check.target { Terminal.out("  actions: \(target.description)") }
        if !check.references.isEmpty { Terminal.out("  references: \(check.references.map(\.label).joined(separator: "; "))") }
      }
    }
  }
}
