import Foundation
import XMLTree

/// `diff --format html`: the drift as one self-contained page, built node by node with libxml2 through
/// the shared XHTML helpers (every string escaped, bidirectional controls made visible), styled with
/// `report.css` plus a few diff styles, no scripts, the report's Content-Security-Policy.
public enum DriftHTML {
  static let diffCSS = """
    .drift-added { background: #e8f5e9; }
    .drift-removed { background: #fdecea; }
    .drift-changed { background: #fff8e1; }
    table.drift td, table.drift th { vertical-align: top; text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
    pre.json { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12px; }
    .recreated { font-weight: bold; color: #8a5300; }
    """

  /// - Throws: ``RenderError`` when the stylesheet is refused (see ``TemplateSet/stylesheet()``): a
  ///   page is never written without it.
  public static func render(_ d: DriftReport, templates: TemplateSet) throws -> [UInt8] {
    let css = try templates.stylesheet()
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
      "Account \(d.to.account): snapshot \(d.from.id) (captured \(d.from.capturedAt)) to snapshot \(d.to.id) (captured \(d.to.capturedAt)). Documents are compared in canonical form, so encoding and whitespace changes are not drift."
    )

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
      for (sign, list, cls) in [("gained", d.privileges.gained, "drift-added"), ("lost", d.privileges.lost, "drift-removed")] {
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
      ("Principals added", d.principalsAdded.count), ("Principals removed", d.principalsRemoved.count),
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
      ("New findings", d.newFindings, "drift-added"), ("Resolved findings", d.resolved, "drift-removed"),
      ("Newly excepted", d.newlyExcepted, "drift-changed"), ("Exception expired", d.exceptionExpired, "drift-changed"),
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

    let principals = body.add("section")
    principals.add("h2").say("Principals")
    let ptable = principals.add("table")
    ptable.set("class", "drift")
    row(ptable.add("tr"), header: true, ["Change", "Type", "Name", "ARN", "Unique id"])
    for (sign, list, cls) in [("added", d.principalsAdded, "drift-added"), ("removed", d.principalsRemoved, "drift-removed")] {
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
      ("Added", d.policiesAdded, "drift-added"), ("Removed", d.policiesRemoved, "drift-removed"),
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
          tr.set("class", "drift-removed")
          jsonRow(tr, "Statement[\(x.index)] removed", "(whole statement)", x.statement, nil)
        }
        for x in s.added {
          let tr = table.add("tr")
          tr.set("class", "drift-added")
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
