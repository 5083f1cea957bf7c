/// `diff --format text`: the drift for terminals, one line per change (names escaped: ``TerminalText``).
public enum DriftText {
  public static func render(_ d: DriftReport) -> String {
    var lines = [
      "drift of account \(d.to.account): snapshot \(d.from.id) (\(d.from.capturedAt)) -> snapshot \(d.to.id) (\(d.to.capturedAt))"
    ]
    // Privileges first: "who became an administrator" is the first question asked of a drift.
    for (title, sign, list) in [("privileges gained", "+", d.privileges.gained), ("privileges lost", "-", d.privileges.lost)] {
      lines.append("\(title): \(list.count)")
      for c in list {
        lines.append("  \(sign) \(c.capability)  \(c.principal.type.rawValue) \(c.principal.name)  \(c.principal.arn) (\(c.principal.id))")
      }
    }
    func subject(_ r: CheckResult) -> String {
      let who = r.principal.map { "\($0.type.rawValue) \($0.name)" }
      let what = r.policy.map { $0.kind == .inline ? "inline \($0.name)" : "managed \($0.arn ?? $0.name) \($0.versionID ?? "")" }
      return [who, what].compactMap { $0 }.joined(separator: " / ")
    }
    for (title, list) in [
      ("new findings", d.newFindings), ("resolved", d.resolved), ("newly excepted", d.newlyExcepted),
      ("exception expired", d.exceptionExpired), ("still open", d.stillOpen),
    ] {
      lines.append("\(title): \(list.count)")
      for check in CheckCatalog.all.map(\.description.id) {
        for r in list where r.checkID == check { lines.append("  \(check)  \(subject(r))") }
      }
    }
    lines.append("changed findings: \(d.changedFindings.count)")
    for check in CheckCatalog.all.map(\.description.id) {
      for c in d.changedFindings where c.after.checkID == check {
        let change =
          c.versionSwitched
          ? "default version \(c.before.policy?.versionID ?? "?") -> \(c.after.policy?.versionID ?? "?")"
          : "document \(c.before.policy?.documentSHA256.prefix(12) ?? "?") -> \(c.after.policy?.documentSHA256.prefix(12) ?? "?")"
        lines.append("  \(check)  \(subject(c.after))  (\(change))")
      }
    }
    lines.append("check versions changed: \(d.versionChanges.count)")
    for v in d.versionChanges {
      lines.append("  \(v.change.description): \(v.openBefore) open before, \(v.openAfter) open after (findings not compared)")
    }
    lines.append("principals added: \(d.principalsAdded.count)")
    for p in d.principalsAdded {
      lines.append(
        "  + \(p.principal.type.rawValue) \(p.principal.name) (\(p.principal.id))\(p.recreated ? "  RECREATED: same ARN, new id — a different subject" : "")"
      )
    }
    lines.append("principals removed: \(d.principalsRemoved.count)")
    for p in d.principalsRemoved { lines.append("  - \(p.principal.type.rawValue) \(p.principal.name) (\(p.principal.id))") }
    lines.append("access changes: \(d.accessChanges.count)")
    for a in d.accessChanges { lines.append("  \(a.kind)  \(a.principal.type.rawValue) \(a.principal.name)  \(a.subject)") }
    func name(_ c: PolicyChange) -> String {
      c.kind == .inline
        ? "inline \(c.name) of \(c.principal.map { "\($0.type.rawValue) \($0.name)" } ?? "?")" : "managed \(c.arn ?? c.name)"
    }
    lines.append("policies added: \(d.policiesAdded.count)")
    for c in d.policiesAdded { lines.append("  + \(name(c))") }
    lines.append("policies removed: \(d.policiesRemoved.count)")
    for c in d.policiesRemoved { lines.append("  - \(name(c))") }
    lines.append("policies changed: \(d.policiesChanged.count)")
    for c in d.policiesChanged {
      lines.append(
        "  ~ \(name(c))" + (c.defaultVersionSwitched ? "  default version \(c.fromVersion ?? "?") -> \(c.toVersion ?? "?")" : ""))
      guard let s = c.statements else { continue }
      for x in s.removed { lines.append("      - Statement[\(x.index)] \(JSONWriter.canonical(x.statement))") }
      for x in s.added { lines.append("      + Statement[\(x.index)] \(JSONWriter.canonical(x.statement))") }
      for x in s.changed {
        for e in x.changes {
          lines.append(
            "      ~ Statement[\(x.fromIndex)->\(x.toIndex)].\(e.element): \(e.from.map(JSONWriter.canonical) ?? "(absent)") -> \(e.to.map(JSONWriter.canonical) ?? "(absent)")"
          )
        }
      }
    }
    return lines.map { TerminalText.escape($0) }.joined(separator: "\n") + "\n"
  }
}
