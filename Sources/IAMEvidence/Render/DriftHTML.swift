import Foundation
import XMLTree

/// `diff --format html`: the drift as one self-contained page, built node by node with libxml2 through
/// the shared XHTML helpers (every string escaped, bidirectional controls made visible), styled with
/// `report.css` plus a few diff styles, no scripts, the report's Content-Security-Policy.
///
/// Colours judge the change, as the report's do: a change for the worse (a new finding, an expired
/// exception, a privilege gained) is red on pink (`drift-worse`), one for the better (a resolved
/// finding, a privilege lost) green (`drift-better`), one to review (newly excepted, a changed finding
/// or policy) amber (`drift-changed`). Principals and policies added or removed, and the statements of
/// a policy diff, are facts rather than judgements: they are marked by words and neutral tints
/// (`drift-neutral`, `stmt-added`, `stmt-removed`), never by the red and green of a judgement.
public enum DriftHTML {
  static let diffCSS = """
    .drift-worse { background: #fdecea; }
    .drift-worse td:first-child { border-left: 4px solid #b42318; }
    .drift-better { background: #e6f4ea; }
    .drift-better td:first-child { border-left: 4px solid #146c43; }
    .drift-changed { background: #fff8e1; }
    .drift-changed td:first-child { border-left: 4px solid #f0b429; }
    .drift-neutral { background: #ffffff; }
    .stmt-added { background: #e8efff; }
    .stmt-removed { background: #eef0f3; }
    .legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; border-radius: 3px; }
    table.drift td, table.drift th { vertical-align: top; text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
    pre.json { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12px; }
    .recreated { font-weight: bold; color: #8a5300; }
    """

  /// - Throws: ``RenderError`` when the stylesheet is refused (see ``TemplateSet/stylesheet()``): a
  ///   page is never written without it.
  public static func render(_ d: DriftReport, templates: TemplateSet) throws -> [UInt8] {
    render(d, stylesheet: try templates.stylesheet())
  }

  /// The page with `css`, a stylesheet already read and checked (``TemplateSet/stylesheet()``): a
  /// package renders one page per pair of snapshots and reads the stylesheet once.
  public static func render(_ d: DriftReport, stylesheet css: String) -> [UInt8] {
    let doc = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
    let html = doc.rootElement!
    html.set("lang", "en")
    let head = html.add("head")
    head.add("meta").set("charset", "utf-8")
    head.add("meta").set("http-equiv", "Content-Security-Policy").set("content", XHTML.contentSecurityPolicy)
    head.add("title", "IAM drift \(d.to.account): snapshot \(d.from.id) to \(d.to.id)")
    head.add("style", css + "\n" + diffCSS)
    let body = html.add("body")
    body.add("h1", "Drift between two IAM snapshots")
    let meta = body.add("p")
    meta.say(
      "Account \(d.to.account): snapshot \(d.from.id) (captured \(d.from.capturedAt)) to snapshot \(d.to.id) (captured \(d.to.capturedAt)). Documents are compared in canonical form, so encoding and whitespace changes are not drift. A finding is identified by its check and subject (a managed policy whatever its default version), so a policy whose default version switched and that still fails is one changed finding."
    )
    let legend = body.add("p")
    legend.set("class", "legend")
    legend.say("Colours: ")
    for (cls, text) in [
      ("drift-worse", "worse (new finding, exception expired, privilege gained)"),
      ("drift-better", "better (finding resolved, privilege lost)"),
      ("drift-changed", "to review (newly excepted, finding or policy changed)"),
    ] {
      let span = legend.add("span")
      span.set("class", cls)
      span.say(text)
    }
    legend.say("Statements added to or removed from a policy are tinted blue and grey: a difference, not a judgement.")

    // Privileges first: "who became an administrator this quarter" is the first question asked.
    let privileges = body.add("section")
    privileges.set("id", "privileges")
    privileges.add("h2").say("Privileged access: \(d.privileges.gained.count) gained, \(d.privileges.lost.count) lost")
    if d.privileges.isEmpty {
      privileges.add("p").say("No user or role gained or lost a privileged capability.")
    } else {
      let table = privileges.add("table")
      table.set("class", "drift")
      row(table.add("tr"), header: true, ["Change", "Capability", "Principal", "ARN", "Unique id"])
      for (sign, list, cls) in [("gained", d.privileges.gained, "drift-worse"), ("lost", d.privileges.lost, "drift-better")] {
        for c in list {
          let tr = table.add("tr")
          tr.set("class", cls)
          row(tr, [sign, c.capability, "\(c.principal.type.rawValue) \(c.principal.name)", c.principal.arn, c.principal.id])
        }
      }
    }

    let summary = body.add("table")
    summary.set("class", "drift")
    row(summary.add("tr"), header: true, ["Change", "Count"])
    let counts: [(String, Int)] = [
      ("Privileges gained", d.privileges.gained.count), ("Privileges lost", d.privileges.lost.count),
      ("New findings", d.newFindings.count), ("Resolved findings", d.resolved.count), ("Still open", d.stillOpen.count),
      ("Newly excepted", d.newlyExcepted.count), ("Exception expired", d.exceptionExpired.count),
      ("Changed findings", d.changedFindings.count), ("Principals added", d.principalsAdded.count),
      ("Principals removed", d.principalsRemoved.count),
      ("Policies added", d.policiesAdded.count), ("Policies removed", d.policiesRemoved.count),
      ("Policies changed", d.policiesChanged.count),
      ("Access changes", d.accessChanges.count), ("Check versions changed", d.versionChanges.count),
    ]
    for (title, n) in counts {
      row(summary.add("tr"), [title, String(n)])
    }

    if !d.versionChanges.isEmpty {
      let section = body.add("section")
      section.add("h2").say("Check versions changed (\(d.versionChanges.count))")
      section.add(
        "p",
        "These checks were assessed with different versions in the two snapshots: their rules changed, so their findings are not compared and appear in none of the lists below."
      )
      let table = section.add("table")
      table.set("class", "drift")
      row(table.add("tr"), header: true, ["Check", "Version before", "Version after", "Open before", "Open after"])
      for v in d.versionChanges {
        row(
          table.add("tr"),
          [
            v.change.checkID, v.change.fromVersion.map(String.init) ?? "not assessed",
            v.change.toVersion.map(String.init) ?? "not assessed",
            String(v.openBefore), String(v.openAfter),
          ])
      }
    }

    for (title, list, cls) in [
      ("New findings", d.newFindings, "drift-worse"), ("Resolved findings", d.resolved, "drift-better"),
      ("Exception expired", d.exceptionExpired, "drift-worse"), ("Newly excepted", d.newlyExcepted, "drift-changed"),
      ("Still open", d.stillOpen, ""),
    ] {
      let section = body.add("section")
      section.add("h2").say("\(title) (\(list.count))")
      guard !list.isEmpty else { continue }
      let table = section.add("table")
      table.set("class", "drift")
      row(table.add("tr"), header: true, ["Check", "Status", "Principal", "Policy", "Why"])
      for r in list {
        let tr = table.add("tr")
        if !cls.isEmpty { tr.set("class", cls) }
        row(
          tr,
          [
            r.checkID, r.status.rawValue, r.principal.map { "\($0.type.rawValue) \($0.name)" } ?? "",
            r.policy.map { $0.kind == .inline ? "inline \($0.name)" : "\($0.arn ?? $0.name) \($0.versionID ?? "")" } ?? "", r.why,
          ])
      }
    }

    let changed = body.add("section")
    changed.add("h2").say("Changed findings (\(d.changedFindings.count))")
    if !d.changedFindings.isEmpty {
      changed.add(
        "p",
        "Open in both snapshots, with another version or document of the same policy: one finding, changed (not one resolved and one new)."
      )
      let table = changed.add("table")
      table.set("class", "drift")
      row(table.add("tr"), header: true, ["Check", "Status", "Principal", "Policy", "Change", "Why (now)"])
      for c in d.changedFindings {
        let tr = table.add("tr")
        tr.set("class", "drift-changed")
        let r = c.after
        let change =
          c.versionSwitched
          ? "default version \(c.before.policy?.versionID ?? "?") → \(r.policy?.versionID ?? "?")"
          : "document \(String(c.before.policy?.documentSHA256.prefix(12) ?? "?"))… → \(String(r.policy?.documentSHA256.prefix(12) ?? "?"))…"
        row(
          tr,
          [
            r.checkID, r.status.rawValue, r.principal.map { "\($0.type.rawValue) \($0.name)" } ?? "",
            r.policy.map { $0.kind == .inline ? "inline \($0.name)" : $0.arn ?? $0.name } ?? "", change, r.why,
          ])
      }
    }

    let principals = body.add("section")
    principals.add("h2").say("Principals")
    let ptable = principals.add("table")
    ptable.set("class", "drift")
    row(ptable.add("tr"), header: true, ["Change", "Type", "Name", "ARN", "Unique id"])
    for (sign, list, cls) in [("added", d.principalsAdded, "drift-neutral"), ("removed", d.principalsRemoved, "drift-neutral")] {
      for c in list {
        let tr = ptable.add("tr")
        tr.set("class", cls)
        row(tr, [sign, c.principal.type.rawValue, c.principal.name, c.principal.arn, c.principal.id])
        if c.recreated {
          let note = tr.children.last!.add("div")
          note.set("class", "recreated")
          note.say("Recreated: the same ARN had another unique id; this is a different subject.")
        }
      }
    }

    let access = body.add("section")
    access.add("h2").say("Access changes (\(d.accessChanges.count))")
    if !d.accessChanges.isEmpty {
      let table = access.add("table")
      table.set("class", "drift")
      row(table.add("tr"), header: true, ["Change", "Principal", "Policy, group or former ARN"])
      for a in d.accessChanges {
        row(table.add("tr"), [a.kind, "\(a.principal.type.rawValue) \(a.principal.name)", a.subject])
      }
    }

    let policies = body.add("section")
    policies.add("h2").say("Policies")
    for (sign, list, cls) in [
      ("Added", d.policiesAdded, "drift-neutral"), ("Removed", d.policiesRemoved, "drift-neutral"),
      ("Changed", d.policiesChanged, "drift-changed"),
    ] {
      for c in list {
        let article = policies.add("article")
        article.set("class", cls)
        let owner = c.principal.map { " of \($0.type.rawValue) \($0.name)" } ?? ""
        article.add("h3").say("\(sign): \(c.kind.rawValue) \(c.arn ?? c.name)\(owner)")
        if c.defaultVersionSwitched {
          article.add("p").say("Default version switched from \(c.fromVersion ?? "?") to \(c.toVersion ?? "?").")
        }
        guard let s = c.statements, !s.isEmpty else { continue }
        let table = article.add("table")
        table.set("class", "drift")
        row(table.add("tr"), header: true, ["Statement", "Element", "Before", "After"])
        for x in s.removed {
          let tr = table.add("tr")
          tr.set("class", "stmt-removed")
          jsonRow(tr, "Statement[\(x.index)] removed", "(whole statement)", x.statement, nil)
        }
        for x in s.added {
          let tr = table.add("tr")
          tr.set("class", "stmt-added")
          jsonRow(tr, "Statement[\(x.index)] added", "(whole statement)", nil, x.statement)
        }
        for x in s.changed {
          for e in x.changes {
            let tr = table.add("tr")
            tr.set("class", "drift-changed")
            jsonRow(tr, "Statement[\(x.fromIndex)] → [\(x.toIndex)]" + (x.sid.map { " (\($0))" } ?? ""), e.element, e.from, e.to)
          }
        }
      }
    }
    body.add("p").say("Generated by \(IAMEvidenceVersion.name) \(IAMEvidenceVersion.current).")
    return doc.html5Bytes()
  }

  private static func row(_ tr: XMLElement, header: Bool = false, _ cells: [String]) {
    for c in cells { tr.add(header ? "th" : "td").say(c) }
  }

  private static func jsonRow(_ tr: XMLElement, _ statement: String, _ element: String, _ before: JSONValue?, _ after: JSONValue?) {
    tr.add("td").say(statement)
    tr.add("td").say(element)
    for v in [before, after] {
      let td = tr.add("td")
      if let v {
        let pre = td.add("pre")
        pre.set("class", "json")
        pre.say(JSONWriter.pretty(v))
      } else {
        td.say("—")
      }
    }
  }
}
