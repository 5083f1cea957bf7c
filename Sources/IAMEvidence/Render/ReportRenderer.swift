import Foundation

/// Renders every file of a report in memory (nothing is written until all succeeded).
public enum ReportRenderer {
  /// `report.html`, `evidence.xml` (validated) and a copy of `evidence.xsd`.
  public static func render(_ model: EvidenceModel, templates: TemplateSet) throws -> [ReportWriter.Output] {
    let xml = try EvidenceXML.render(model, templates: templates)
    let html = try HTMLReport.render(model, templates: templates)
    let xsd = [UInt8](try Data(contentsOf: templates.evidenceXSD))
    return [
      ReportWriter.Output(name: "report.html", bytes: html),
      ReportWriter.Output(name: "evidence.xml", bytes: xml),
      ReportWriter.Output(name: "evidence.xsd", bytes: xsd),
    ]
  }
}
