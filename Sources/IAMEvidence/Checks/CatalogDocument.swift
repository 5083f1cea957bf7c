/// The check catalog rendered for people and programs (`iam-evidence checks`, README's table).
public enum CatalogDocument {
  /// An array of objects with `id`, `version`, `title`, `controls` (the first is primary), `primary`
  /// (the founding test), `population`, `rationale`, `remediation`, `methodology`, `target` (the
  /// actions asked about, with the action catalog they are counted in: its source and date; null for a
  /// check of no action) and `references` (CIS AWS Foundations Benchmark, AWS Security Hub ids).
  public static func json(actionCatalog: ActionCatalog = .bundled) -> JSONValue {
    let controls = ControlCatalog.bundled
    let source = actionCatalog.source
    let catalog = JSONValue.object([
      ("source", .string(source.source)), ("source_version", .string(source.version)), ("date", .string(source.date)),
      ("licence", .string(source.licence)), ("services", .number(String(actionCatalog.services.count))),
      ("actions", .number(String(actionCatalog.count))), ("description", .string(actionCatalog.sourceDescription)),
    ])
    return .array(
      CheckCatalog.all.map(\.description).map { d in
        .object([
          ("id", .string(d.id)),
          ("version", .number(String(d.version))),
          ("title", .string(d.title)),
          (
            "controls",
            .array(
              d.controls.map { id in
                .object([
                  ("id", .string(id)), ("title", .string(controls.control(id)?.title ?? "")), ("framework", .string(controls.framework)),
                ])
              })
          ),
          ("primary", .bool(d.isPrimary)),
          ("population", .string(d.population)),
          ("rationale", .string(d.rationale)),
          ("remediation", .string(d.remediation)),
          ("methodology", .array(d.methodology.map(JSONValue.string))),
          (
            "target",
            d.target.map { t in
              .object([
                ("description", .string(t.description)),
                ("actions", (try? t.resolve(in: actionCatalog)).map { .number(String($0.count)) } ?? .null),
                ("action_catalog", catalog),
              ])
            } ?? .null
          ),
          ("references", .array(d.references.map { .object([("framework", .string($0.framework)), ("id", .string($0.id))]) })),
        ])
      })
  }

  /// The Markdown table README shows (generated; a test keeps README in step).
  public static func markdownTable() -> String {
    let controls = ControlCatalog.bundled
    var lines = [
      "| id | version | title | ISO/IEC 27001:2022 controls | population | references |", "| --- | --- | --- | --- | --- | --- |",
    ]
    for d in CheckCatalog.all.map(\.description) {
      let ids = d.controls.enumerated().map { i, id in
        let title = controls.control(id)?.title ?? ""
        return i == 0 ? "**\(id)** \(title)" : "\(id) \(title)"
      }
      lines.append(
        "| `\(d.id)`\(d.isPrimary ? " (founding test)" : "") | \(d.version) | \(d.title) | \(ids.joined(separator: "; ")) | \(d.population) | \(d.references.map(\.label).joined(separator: "; ")) |"
      )
    }
    return lines.joined(separator: "\n")
  }
}
