/// A change of one element of a statement (`Action`, `Resource`, `Condition`, ...).
public struct ElementChange: Sendable, Hashable {
  public var element: String
  public var from: JSONValue?
  public var to: JSONValue?
}

/// The statement-level difference of two versions of a policy document.
public struct StatementDiff: Sendable, Hashable {
  /// A statement present only in the newer document (index in it).
  public var added: [(index: Int, statement: JSONValue)]
  /// A statement present only in the older document (index in it).
  public var removed: [(index: Int, statement: JSONValue)]
  /// Statements matched (by Sid, else by position) whose elements differ.
  public var changed: [(fromIndex: Int, toIndex: Int, sid: String?, changes: [ElementChange])]

  public static func == (a: StatementDiff, b: StatementDiff) -> Bool {
    JSONWriter.canonical(a.jsonValue) == JSONWriter.canonical(b.jsonValue)
  }
  public func hash(into h: inout Hasher) { h.combine(JSONWriter.canonical(jsonValue)) }

  /// Compares two documents statement by statement. Identical statements (canonically) match first,
  /// then statements with the same non-empty Sid, then remaining statements at the same position.
  public static func between(_ old: JSONValue, _ new: JSONValue) -> StatementDiff {
    func list(_ doc: JSONValue) -> [JSONValue] {
      guard let s = doc["Statement"] else { return [] }
      return s.arrayValue ?? [s]
    }
    let a = list(old)
    let b = list(new)
    var freeA = Set(a.indices)
    var freeB = Set(b.indices)
    // 1. identical statements
    for i in a.indices.sorted() {
      let ca = JSONWriter.canonical(a[i])
      if let j = b.indices.sorted().first(where: { freeB.contains($0) && JSONWriter.canonical(b[$0]) == ca }) {
        freeA.remove(i)
        freeB.remove(j)
      }
    }
    var changed: [(fromIndex: Int, toIndex: Int, sid: String?, changes: [ElementChange])] = []
    func pair(_ i: Int, _ j: Int) {
      freeA.remove(i)
      freeB.remove(j)
      changed.append((i, j, a[i]["Sid"]?.stringValue, elementChanges(a[i], b[j])))
    }
    // 2. same Sid
    for i in freeA.sorted() {
      guard let sid = a[i]["Sid"]?.stringValue, !sid.isEmpty else { continue }
      if let j = freeB.sorted().first(where: { b[$0]["Sid"]?.stringValue == sid }) { pair(i, j) }
    }
    // 3. same position (neither carries a Sid the other lacks)
    for i in freeA.sorted() where freeB.contains(i) {
      let sa = a[i]["Sid"]?.stringValue ?? ""
      let sb = b[i]["Sid"]?.stringValue ?? ""
      if sa.isEmpty || sb.isEmpty || sa == sb { pair(i, i) }
    }
    return StatementDiff(
      added: freeB.sorted().map { ($0, b[$0]) }, removed: freeA.sorted().map { ($0, a[$0]) },
      changed: changed.sorted { $0.toIndex < $1.toIndex })
  }

  static func elementChanges(_ a: JSONValue, _ b: JSONValue) -> [ElementChange] {
    var keys: [String] = []
    for m in (a.objectValue ?? []) + (b.objectValue ?? []) where !keys.contains(m.key) { keys.append(m.key) }
    return keys.sorted().compactMap { k in
      let x = a[k]
      let y = b[k]
      if x.map(JSONWriter.canonical) == y.map(JSONWriter.canonical) { return nil }
      return ElementChange(element: k, from: x, to: y)
    }
  }

  public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

  /// Structured form for JSON output.
  public var jsonValue: JSONValue {
    func n(_ i: Int) -> JSONValue { .number(String(i)) }
    return .object([
      ("added", .array(added.map { .object([("index", n($0.index)), ("statement", $0.statement)]) })),
      ("removed", .array(removed.map { .object([("index", n($0.index)), ("statement", $0.statement)]) })),
      (
        "changed",
        .array(
          changed.map { c in
            .object([
              ("from_index", n(c.fromIndex)), ("to_index", n(c.toIndex)), ("sid", c.sid.map(JSONValue.string) ?? .null),
              (
                "elements",
                .array(c.changes.map { .object([("element", .string($0.element)), ("from", $0.from ?? .null), ("to", $0.to ?? .null)]) })
              ),
            ])
          })
      ),
    ])
  }
}

/// A policy that changed between two snapshots.
public struct PolicyChange: Sendable, Hashable {
  public var kind: PolicyKind
  /// Inline: `<principal type> <name>`; managed: nil.
  public var principal: PrincipalRef?
  public var name: String
  public var arn: String?
  public var fromVersion: String?
  public var toVersion: String?
  public var fromSHA256: String?
  public var toSHA256: String?
  /// The managed policy's default version switched (e.g. v2 → v1).
  public var defaultVersionSwitched: Bool
  public var statements: StatementDiff?
}

/// A principal present in only one of the two snapshots.
public struct PrincipalChange: Sendable, Hashable {
  public var principal: PrincipalRef
  /// The same ARN exists on the other side with a different unique id: deleted and recreated, a
  /// different subject.
  public var recreated: Bool
}

/// A change of how a principal gets its permissions, outside its own policy documents.
public struct AccessChange: Sendable, Hashable {
  /// `attached` / `detached` (managed policy), `joined` / `left` (group), `trust-policy-changed`,
  /// `boundary-changed`, `renamed` (path or ARN changed, same unique id).
  public var kind: String
  public var principal: PrincipalRef
  /// The policy ARN, group name, boundary ARN or former ARN concerned.
  public var subject: String
}

/// A check whose version differs between the two snapshots of a drift: its findings are not
/// compared (they follow other rules on each side), only counted.
public struct DriftVersionChange: Sendable, Hashable {
  public var change: CheckVersionChange
  /// Open (fail or excepted) results of the check in the earlier and in the later snapshot.
  public var openBefore: Int
  public var openAfter: Int
}

/// A finding open in both snapshots of a drift whose subject changed: the managed policy's default
/// version switched (v2 → v1), or the policy document judged is another one. It is one finding (its
/// identity is the policy: ``CheckResult/findingIdentity``), changed, not one resolved and one new.
public struct FindingChange: Sendable, Hashable {
  /// The result in the earlier snapshot.
  public var before: CheckResult
  /// The result in the later snapshot.
  public var after: CheckResult

  public init(before: CheckResult, after: CheckResult) {
    self.before = before
    self.after = after
  }

  /// Whether the managed policy's version judged differs (else only the document did).
  public var versionSwitched: Bool { before.policy?.versionID != after.policy?.versionID }
}

/// `iam-evidence diff`: what changed between two snapshots of one account.
public struct DriftReport: Sendable {
  public var from: SnapshotRecord
  public var to: SnapshotRecord
  public var newFindings: [CheckResult]
  public var resolved: [CheckResult]
  public var stillOpen: [CheckResult]
  public var newlyExcepted: [CheckResult]
  public var exceptionExpired: [CheckResult]
  /// Findings open (fail, or excepted) on both sides with the same status whose policy version or
  /// document changed: listed here, not in ``stillOpen``.
  public var changedFindings: [FindingChange] = []
  public var principalsAdded: [PrincipalChange]
  public var principalsRemoved: [PrincipalChange]
  public var policiesAdded: [PolicyChange]
  public var policiesRemoved: [PolicyChange]
  public var policiesChanged: [PolicyChange]
  /// Attachments, group memberships, trust policies, boundaries and renames of principals present in
  /// both snapshots.
  public var accessChanges: [AccessChange] = []
  /// Privileged capabilities gained and lost (set by ``EvidenceWorkflow/drift(from:to:)`` from the
  /// two snapshots' privileged-access registers).
  public var privileges = PrivilegeDrift()
  /// Checks whose version differs between the two snapshots (or that one of them was not assessed
  /// with), in catalog order: their findings are in none of the finding lists above.
  public var versionChanges: [DriftVersionChange] = []

  /// True when nothing changed at all.
  public var isEmpty: Bool {
    privileges.isEmpty && newFindings.isEmpty && resolved.isEmpty && newlyExcepted.isEmpty && exceptionExpired.isEmpty
      && changedFindings.isEmpty && principalsAdded.isEmpty
      && principalsRemoved.isEmpty && policiesAdded.isEmpty && policiesRemoved.isEmpty && policiesChanged.isEmpty
      && accessChanges.isEmpty && versionChanges.isEmpty
  }
}

extension DriftReport {
  /// Computes the drift from decoded snapshots and their results. `oldVersions` and `newVersions`
  /// are each snapshot's check versions (check id → version, as the store gives them); when nil they
  /// are read from the results (a check without results then counts as unchanged). The findings of a
  /// check whose version differs are not compared: the change is listed instead.
  public static func compute(
    from: SnapshotRecord, to: SnapshotRecord, old: AuthorizationSnapshot, new: AuthorizationSnapshot, oldResults allOld: [CheckResult],
    newResults allNew: [CheckResult], oldVersions: [String: Int]? = nil, newVersions: [String: Int]? = nil
  ) -> DriftReport {
    func versions(_ results: [CheckResult]) -> [String: Int] {
      var out: [String: Int] = [:]
      for r in results { out[r.checkID] = max(out[r.checkID] ?? 0, r.checkVersion) }
      return out
    }
    var beforeVersions = oldVersions ?? versions(allOld)
    var afterVersions = newVersions ?? versions(allNew)
    if oldVersions == nil || newVersions == nil {
      // Read from results, a check with no result on one side says nothing about its version.
      for id in Set(beforeVersions.keys).symmetricDifference(afterVersions.keys) {
        beforeVersions[id] = nil
        afterVersions[id] = nil
      }
    }
    let changes = CheckVersionChange.between(beforeVersions, afterVersions, at: to)
    let changed = Set(changes.map(\.checkID))
    let oldResults = changed.isEmpty ? allOld : allOld.filter { !changed.contains($0.checkID) }
    let newResults = changed.isEmpty ? allNew : allNew.filter { !changed.contains($0.checkID) }
    func isOpen(_ r: CheckResult) -> Bool { r.status == .fail || r.status == .excepted }
    // Matched by identity (a managed policy is one subject whatever its default version); should two
    // results share one (not expected), the more severe is kept. Indexes, not copies: a package
    // compares every consecutive pair of a quarter of snapshots of thousands of results each. Of the
    // earlier snapshot only the open results matter (any other status makes a later failure new).
    var before: [String: Int] = [:]
    for (i, r) in oldResults.enumerated() where isOpen(r) {
      let id = r.findingIdentity
      if let j = before[id], oldResults[j].status.severityRank <= r.status.severityRank { continue }
      before[id] = i
    }
    let newIdentities = newResults.map(\.findingIdentity)
    var after: [String: Int] = [:]
    for (i, id) in newIdentities.enumerated() {
      if let j = after[id], newResults[j].status.severityRank <= newResults[i].status.severityRank { continue }
      after[id] = i
    }
    var report = DriftReport(
      from: from, to: to, newFindings: [], resolved: [], stillOpen: [], newlyExcepted: [], exceptionExpired: [], principalsAdded: [],
      principalsRemoved: [], policiesAdded: [], policiesRemoved: [], policiesChanged: [])
    report.versionChanges = changes.map { c in
      DriftVersionChange(
        change: c, openBefore: allOld.filter { $0.checkID == c.checkID && isOpen($0) }.count,
        openAfter: allNew.filter { $0.checkID == c.checkID && isOpen($0) }.count)
    }
    func differs(_ a: CheckResult, _ b: CheckResult) -> Bool {
      a.policy?.versionID != b.policy?.versionID || a.policy?.documentSHA256 != b.policy?.documentSHA256
    }
    for (i, r) in newResults.enumerated() where isOpen(r) {
      let old = before[newIdentities[i]].map { oldResults[$0] }
      switch (old?.status, r.status) {
      case (.fail?, .fail), (.excepted?, .excepted):
        if differs(old!, r) { report.changedFindings.append(FindingChange(before: old!, after: r)) } else { report.stillOpen.append(r) }
      case (.excepted?, .fail): report.exceptionExpired.append(r)
      case (_, .fail): report.newFindings.append(r)
      case (_, .excepted): report.newlyExcepted.append(r)
      default: break
      }
    }
    for r in oldResults where isOpen(r) {
      let now = after[r.findingIdentity].map { newResults[$0] }
      if let now, isOpen(now) { continue }
      report.resolved.append(now ?? r)
    }

    // Principals: by type and unique id (a path change keeps the id: a rename, not a new subject); the
    // same ARN under another id is a principal deleted and recreated, a different subject.
    func key(_ p: Principal) -> String { p.type.rawValue + "|" + p.id }
    let oldByID = Dictionary(old.principals.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
    let newByID = Dictionary(new.principals.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
    let oldARNs = Set(old.principals.map(\.arn))
    let newARNs = Set(new.principals.map(\.arn))
    report.principalsAdded = new.principals.filter { oldByID[key($0)] == nil }.map {
      PrincipalChange(principal: PrincipalRef($0), recreated: oldARNs.contains($0.arn))
    }.sorted { $0.principal < $1.principal }
    report.principalsRemoved = old.principals.filter { newByID[key($0)] == nil }.map {
      PrincipalChange(principal: PrincipalRef($0), recreated: newARNs.contains($0.arn))
    }.sorted { $0.principal < $1.principal }
    for p in new.principals.sorted(by: { PrincipalRef($0) < PrincipalRef($1) }) {
      guard let o = oldByID[key(p)] else { continue }
      let ref = PrincipalRef(p)
      if o.arn != p.arn { report.accessChanges.append(AccessChange(kind: "renamed", principal: ref, subject: o.arn)) }
      let before = Set(o.attachedPolicies.map(\.arn))
      let after = Set(p.attachedPolicies.map(\.arn))
      for arn in after.subtracting(before).sorted() {
        report.accessChanges.append(AccessChange(kind: "attached", principal: ref, subject: arn))
      }
      for arn in before.subtracting(after).sorted() {
        report.accessChanges.append(AccessChange(kind: "detached", principal: ref, subject: arn))
      }
      for g in Set(p.groups).subtracting(o.groups).sorted() {
        report.accessChanges.append(AccessChange(kind: "joined", principal: ref, subject: g))
      }
      for g in Set(o.groups).subtracting(p.groups).sorted() {
        report.accessChanges.append(AccessChange(kind: "left", principal: ref, subject: g))
      }
      if o.trustPolicy?.sha256 != p.trustPolicy?.sha256 {
        report.accessChanges.append(AccessChange(kind: "trust-policy-changed", principal: ref, subject: p.trustPolicy?.sha256 ?? "none"))
      }
      if o.permissionsBoundary?.arn != p.permissionsBoundary?.arn {
        report.accessChanges.append(AccessChange(kind: "boundary-changed", principal: ref, subject: p.permissionsBoundary?.arn ?? "none"))
      }
    }

    // Inline policies: identified by (principal id, policy name).
    func inline(_ s: AuthorizationSnapshot) -> [String: (Principal, InlinePolicy)] {
      var out: [String: (Principal, InlinePolicy)] = [:]
      for p in s.principals { for i in p.inlinePolicies { out[key(p) + "|" + i.name] = (p, i) } }
      return out
    }
    let oldInline = inline(old)
    let newInline = inline(new)
    for key in newInline.keys.sorted() {
      let (p, i) = newInline[key]!
      if let (_, o) = oldInline[key] {
        if o.document.sha256 != i.document.sha256 {
          report.policiesChanged.append(
            PolicyChange(
              kind: .inline, principal: PrincipalRef(p), name: i.name, fromSHA256: o.document.sha256, toSHA256: i.document.sha256,
              defaultVersionSwitched: false, statements: StatementDiff.between(o.document.json, i.document.json)))
        }
      } else {
        report.policiesAdded.append(
          PolicyChange(kind: .inline, principal: PrincipalRef(p), name: i.name, toSHA256: i.document.sha256, defaultVersionSwitched: false))
      }
    }
    for key in oldInline.keys.sorted() where newInline[key] == nil {
      let (p, o) = oldInline[key]!
      report.policiesRemoved.append(
        PolicyChange(kind: .inline, principal: PrincipalRef(p), name: o.name, fromSHA256: o.document.sha256, defaultVersionSwitched: false))
    }

    // Managed policies: by ARN, judged on the default version.
    let oldManaged = Dictionary(old.managedPolicies.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    let newManaged = Dictionary(new.managedPolicies.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    for arn in newManaged.keys.sorted() {
      let m = newManaged[arn]!
      let d = m.namedDefaultVersion
      if let o = oldManaged[arn] {
        let od = o.namedDefaultVersion
        let switched = od?.versionId != d?.versionId
        if switched || od?.document.sha256 != d?.document.sha256 {
          report.policiesChanged.append(
            PolicyChange(
              kind: .managed, name: m.name, arn: arn, fromVersion: od?.versionId, toVersion: d?.versionId, fromSHA256: od?.document.sha256,
              toSHA256: d?.document.sha256, defaultVersionSwitched: switched,
              statements: (od?.document.json).flatMap { oj in (d?.document.json).map { StatementDiff.between(oj, $0) } }))
        }
      } else {
        report.policiesAdded.append(
          PolicyChange(
            kind: .managed, name: m.name, arn: arn, toVersion: d?.versionId, toSHA256: d?.document.sha256, defaultVersionSwitched: false))
      }
    }
    for arn in oldManaged.keys.sorted() where newManaged[arn] == nil {
      let o = oldManaged[arn]!
      report.policiesRemoved.append(
        PolicyChange(
          kind: .managed, name: o.name, arn: arn, fromVersion: o.namedDefaultVersion?.versionId,
          fromSHA256: o.namedDefaultVersion?.document.sha256,
          defaultVersionSwitched: false))
    }
    return report
  }

  /// The `diff --format json` object.
  public var jsonValue: JSONValue {
    func findings(_ list: [CheckResult], snapshot: Int) -> JSONValue { .array(list.map { $0.jsonValue(snapshot: snapshot) }) }
    func principal(_ c: PrincipalChange) -> JSONValue {
      .object([
        ("type", .string(c.principal.type.rawValue)), ("name", .string(c.principal.name)), ("arn", .string(c.principal.arn)),
        ("id", .string(c.principal.id)), ("recreated", .bool(c.recreated)),
      ])
    }
    func policy(_ c: PolicyChange) -> JSONValue {
      func s(_ x: String?) -> JSONValue { x.map(JSONValue.string) ?? .null }
      var members: [(key: String, value: JSONValue)] = [
        ("kind", .string(c.kind.rawValue)), ("name", .string(c.name)), ("arn", s(c.arn)),
        ("principal_type", s(c.principal?.type.rawValue)), ("principal_name", s(c.principal?.name)), ("principal_arn", s(c.principal?.arn)),
        ("from_version", s(c.fromVersion)), ("to_version", s(c.toVersion)), ("from_sha256", s(c.fromSHA256)), ("to_sha256", s(c.toSHA256)),
        ("default_version_switched", .bool(c.defaultVersionSwitched)),
      ]
      if let d = c.statements { members.append(("statements", d.jsonValue)) }
      return .object(members)
    }
    return .object([
      ("from", .number(String(from.id))),
      ("to", .number(String(to.id))),
      ("account", .string(to.account)),
      ("from_captured_at", .string(from.capturedAt.description)),
      ("to_captured_at", .string(to.capturedAt.description)),
      ("privileges", privileges.jsonValue),
      (
        "findings",
        .object([
          ("new", findings(newFindings, snapshot: to.id)), ("resolved", findings(resolved, snapshot: to.id)),
          ("still_open", findings(stillOpen, snapshot: to.id)), ("newly_excepted", findings(newlyExcepted, snapshot: to.id)),
          ("exception_expired", findings(exceptionExpired, snapshot: to.id)),
          (
            "changed",
            .array(
              changedFindings.map { c in
                .object([
                  ("from_version", c.before.policy?.versionID.map(JSONValue.string) ?? .null),
                  ("to_version", c.after.policy?.versionID.map(JSONValue.string) ?? .null),
                  ("from_sha256", c.before.policy.map { .string($0.documentSHA256) } ?? .null),
                  ("to_sha256", c.after.policy.map { .string($0.documentSHA256) } ?? .null),
                  ("finding", c.after.jsonValue(snapshot: to.id)),
                ])
              })
          ),
        ])
      ),
      (
        "check_versions_changed",
        .array(
          versionChanges.map { v in
            .object([
              ("check", .string(v.change.checkID)), ("from_version", v.change.fromVersion.map { .number(String($0)) } ?? .null),
              ("to_version", v.change.toVersion.map { .number(String($0)) } ?? .null), ("open_before", .number(String(v.openBefore))),
              ("open_after", .number(String(v.openAfter))),
            ])
          })
      ),
      ("principals", .object([("added", .array(principalsAdded.map(principal))), ("removed", .array(principalsRemoved.map(principal)))])),
      (
        "access",
        .array(
          accessChanges.map {
            .object([
              ("change", .string($0.kind)), ("principal_type", .string($0.principal.type.rawValue)),
              ("principal_name", .string($0.principal.name)), ("principal_arn", .string($0.principal.arn)),
              ("subject", .string($0.subject)),
            ])
          })
      ),
      (
        "policies",
        .object([
          ("added", .array(policiesAdded.map(policy))), ("removed", .array(policiesRemoved.map(policy))),
          ("changed", .array(policiesChanged.map(policy))),
        ])
      ),
    ])
  }
}
