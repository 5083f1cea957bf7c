/// The check catalog rendered for people and programs (`iam-evidence checks`, README's table).
public enum CatalogDocument {
  /// An array of objects with `id`, `version`, `title`, `controls`, `primary`, `population`,
  /// `rationale`, `remediation`, `methodology`.
  public static func json() -> JSONValue {
    let controls = ControlCatalog.bundled
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
        ])
      })
  }

  /// The Markdown table README shows (generated; a test keeps README in step).
  public static func markdownTable() -> String {
    let controls = ControlCatalog.bundled
    var lines = ["| id | version | title | ISO/IEC 27001:2022 controls | population |", "| --- | --- | --- | --- | --- |"]
    for d in CheckCatalog.all.map(\.description) {
      let ids = d.controls.enumerated().map { i, id in
        let title = controls.control(id)?.title ?? ""
        return i == 0 ? "**\(id)** \(title)" : "\(id) \(title)"
      }
      lines.append(
        "| `\(d.id)`\(d.isPrimary ? " (primary)" : "") | \(d.version) | \(d.title) | \(ids.joined(separator: "; ")) | \(d.population) |")
    }
    return lines.joined(separator: "\n")
  }
}
