import Foundation
import XMLTree

/// `diff --format html`: the drift as one self-contained page, built node by node with libxml2 (every
/// string escaped), styled with `report.css` plus a few diff styles, no scripts, restrictive CSP.
public enum DriftHTML {
  static let diffCSS = """
    .drift-added { background: #e8f5e9; }
    .drift-removed { background: #fdecea; }
    .drift-changed { background: #fff8e1; }
    table.drift td, table.drift th { vertical-align: top; text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
    pre.json { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12px; }
    .recreated { font-weight: bold; color: #8a5300; }
    """

  public static func render(_ d: DriftReport, templates: TemplateSet) throws -> [UInt8] {
    let doc = XMLDocument(rootElement: "html", namespaceURI: XMLNamespaces.xhtml)
    let html = doc.rootElement!
    html.setAttribute("lang", "en")
    let head = html.addChild("head")
    head.addChild("meta").setAttribute("charset", "utf-8")
    let csp = head.addChild("meta")
    csp.setAttribute("http-equiv", "Content-Security-Policy")
    csp.setAttribute("content", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
    head.addChild("title").addText("IAM drift \(d.to.account): snapshot \(d.from.id) to \(d.to.id)")
    let css = (try? String(contentsOf: templates.reportCSS, encoding: .utf8)) ?? ""
    head.addChild("style").addText(css + "\n" + diffCSS)
    let body = html.addChild("body")
    body.addChild("h1").addText("Drift between two IAM snapshots")
    let meta = body.addChild("p")
    meta.addText(
      "Account \(d.to.account): snapshot \(d.from.id) (captured \(d.from.capturedAt)) to snapshot \(d.to.id) (captured \(d.to.capturedAt)). Documents are compared in canonical form, so encoding and whitespace changes are not drift."
    )

    let summary = body.addChild("table")
    summary.setAttribute("class", "drift")
    row(summary.addChild("tr"), header: true, ["Change", "Count"])
    for (title, n) in [
      ("New findings", d.newFindings.count), ("Resolved findings", d.resolved.count), ("Still open", d.stillOpen.count),
      ("Newly excepted", d.newlyExcepted.count), ("Exception expired", d.exceptionExpired.count),
      ("Principals added", d.principalsAdded.count), ("Principals removed", d.principalsRemoved.count),
      ("Policies added", d.policiesAdded.count), ("Policies removed", d.policiesRemoved.count),
      ("Policies changed", d.policiesChanged.count),
      ("Access changes", d.accessChanges.count),
    ] {
      row(summary.addChild("tr"), [title, String(n)])
    }

    for (title, list, cls) in [
      ("New findings", d.newFindings, "drift-added"), ("Resolved findings", d.resolved, "drift-removed"),
      ("Newly excepted", d.newlyExcepted, "drift-changed"), ("Exception expired", d.exceptionExpired, "drift-changed"),
      ("Still open", d.stillOpen, ""),
    ] {
      let section = body.addChild("section")
      section.addChild("h2").addText("\(title) (\(list.count))")
      guard !list.isEmpty else { continue }
      let table = section.addChild("table")
      table.setAttribute("class", "drift")
      row(table.addChild("tr"), header: true, ["Check", "Status", "Principal", "Policy", "Why"])
      for r in list {
        let tr = table.addChild("tr")
        if !cls.isEmpty { tr.setAttribute("class", cls) }
        row(
          tr,
          [
            r.checkID, r.status.rawValue, r.principal.map { "\($0.type.rawValue) \($0.name)" } ?? "",
            r.policy.map { $0.kind == .inline ? "inline \($0.name)" : "\($0.arn ?? $0.name) \($0.versionID ?? "")" } ?? "", r.why,
          ])
      }
    }

    let principals = body.addChild("section")
    principals.addChild("h2").addText("Principals")
    let ptable = principals.addChild("table")
    ptable.setAttribute("class", "drift")
    row(ptable.addChild("tr"), header: true, ["Change", "Type", "Name", "ARN", "Unique id"])
    for (sign, list, cls) in [("added", d.principalsAdded, "drift-added"), ("removed", d.principalsRemoved, "drift-removed")] {
      for c in list {
        let tr = ptable.addChild("tr")
        tr.setAttribute("class", cls)
        row(tr, [sign, c.principal.type.rawValue, c.principal.name, c.principal.arn, c.principal.id])
        if c.recreated {
          let note = tr.children.last!.addChild("div")
          note.setAttribute("class", "recreated")
          note.addText("Recreated: the same ARN had another unique id; this is a different subject.")
        }
      }
    }

    let access = body.addChild("section")
    access.addChild("h2").addText("Access changes (\(d.accessChanges.count))")
    if !d.accessChanges.isEmpty {
      let table = access.addChild("table")
      table.setAttribute("class", "drift")
      row(table.addChild("tr"), header: true, ["Change", "Principal", "Policy, group or former ARN"])
      for a in d.accessChanges {
        row(table.addChild("tr"), [a.kind, "\(a.principal.type.rawValue) \(a.principal.name)", a.subject])
      }
    }

    let policies = body.addChild("section")
    policies.addChild("h2").addText("Policies")
    for (sign, list, cls) in [
      ("Added", d.policiesAdded, "drift-added"), ("Removed", d.policiesRemoved, "drift-removed"),
      ("Changed", d.policiesChanged, "drift-changed"),
    ] {
      for c in list {
        let article = policies.addChild("article")
        article.setAttribute("class", cls)
        let owner = c.principal.map { " of \($0.type.rawValue) \($0.name)" } ?? ""
        article.addChild("h3").addText("\(sign): \(c.kind.rawValue) \(c.arn ?? c.name)\(owner)")
        if c.defaultVersionSwitched {
          article.addChild("p").addText("Default version switched from \(c.fromVersion ?? "?") to \(c.toVersion ?? "?").")
        }
        guard let s = c.statements, !s.isEmpty else { continue }
        let table = article.addChild("table")
        table.setAttribute("class", "drift")
        row(table.addChild("tr"), header: true, ["Statement", "Element", "Before", "After"])
        for x in s.removed {
          let tr = table.addChild("tr")
          tr.setAttribute("class", "drift-removed")
          jsonRow(tr, "Statement[\(x.index)] removed", "(whole statement)", x.statement, nil)
        }
        for x in s.added {
          let tr = table.addChild("tr")
          tr.setAttribute("class", "drift-added")
          jsonRow(tr, "Statement[\(x.index)] added", "(whole statement)", nil, x.statement)
        }
        for x in s.changed {
          for e in x.changes {
            let tr = table.addChild("tr")
            tr.setAttribute("class", "drift-changed")
            jsonRow(tr, "Statement[\(x.fromIndex)] → [\(x.toIndex)]" + (x.sid.map { " (\($0))" } ?? ""), e.element, e.from, e.to)
          }
        }
      }
    }
    body.addChild("p").addText("Generated by \(IAMEvidenceVersion.name) \(IAMEvidenceVersion.current).")
    return doc.html5Bytes()
  }

  private static func row(_ tr: XMLElement, header: Bool = false, _ cells: [String]) {
    for c in cells { tr.addChild(header ? "th" : "td").addText(c) }
  }

  private static func jsonRow(_ tr: XMLElement, _ statement: String, _ element: String, _ before: JSONValue?, _ after: JSONValue?) {
    tr.addChild("td").addText(statement)
    tr.addChild("td").addText(element)
    for v in [before, after] {
      let td = tr.addChild("td")
      if let v {
        let pre = td.addChild("pre")
        pre.setAttribute("class", "json")
        pre.addText(JSONWriter.pretty(v))
      } else {
        td.addText("—")
      }
    }
  }
}
