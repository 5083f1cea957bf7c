extension CheckResult {
  /// Sorts `results` into ``reportOrder(_:_:)`` by small precomputed keys, then moves each result
  /// once into place: an account's assessment holds tens of thousands of (large) results. Principals
  /// and policies are ranked once per distinct one (far fewer than the results, which share them),
  /// so the sort compares integers, not strings.
  public static func sortForReport(_ results: inout [CheckResult]) {
    let checks = ranks(results.map { r in Triple(r.checkID, "", "") })
    let principals = ranks(results.map { r in Triple(r.principal?.type.rawValue ?? "", r.principal?.name ?? "", r.principal?.arn ?? "") })
    let policies = ranks(results.map { r in Triple(r.policy?.name ?? "", r.policy?.arn ?? "", r.policy?.versionID ?? "") })
    let keys = results.indices.map { i in
      (results[i].status.severityRank, CheckCatalog.position(of: results[i].checkID), checks[i], principals[i], policies[i])
    }
    // order[k] is the index of the result that belongs at position k (ties keep their order).
    var order = keys.withUnsafeBufferPointer { k in
      results.indices.sorted { i, j in k[i] != k[j] ? k[i] < k[j] : i < j }
    }
    // Apply the permutation in place, cycle by cycle, with swaps (no copy of the array).
    for start in order.indices where order[start] != start {
      var k = start
      while order[k] != start {
        let next = order[k]
        results.swapAt(k, next)
        order[k] = k
        k = next
      }
      order[k] = k
    }
  }

  /// Sort order of reports and listings: most severe first, then by catalog order of the check (the
  /// control's primary test first; checks the catalog does not know last, by id), principal and
  /// policy.
  public static func reportOrder(_ a: CheckResult, _ b: CheckResult) -> Bool {
    if a.status.severityRank != b.status.severityRank { return a.status.severityRank < b.status.severityRank }
    if a.checkID != b.checkID {
      // Checks the catalog does not know (a retired one's results in an older database) share the
      // last position: between them, by id, so that this stays a strict order.
      let (pa, pb) = (CheckCatalog.position(of: a.checkID), CheckCatalog.position(of: b.checkID))
      return pa != pb ? pa < pb : a.checkID < b.checkID
    }
    let ka = (a.principal?.type.rawValue ?? "", a.principal?.name ?? "", a.principal?.arn ?? "")
    let kb = (b.principal?.type.rawValue ?? "", b.principal?.name ?? "", b.principal?.arn ?? "")
    if ka != kb { return ka < kb }
    return (a.policy?.name ?? "", a.policy?.arn ?? "", a.policy?.versionID ?? "") < (
      b.policy?.name ?? "", b.policy?.arn ?? "", b.policy?.versionID ?? ""
    )
  }
}

/// Three strings compared in order (as a tuple of them is), hashable.
private struct Triple: Hashable, Comparable {
  var a: String, b: String, c: String
  init(_ a: String, _ b: String, _ c: String) { (self.a, self.b, self.c) = (a, b, c) }
  static func < (x: Triple, y: Triple) -> Bool { (x.a, x.b, x.c) < (y.a, y.b, y.c) }
}

/// Each value's rank among the distinct values (equal values share one), in their order.
private func ranks(_ values: [Triple]) -> [Int] {
  var index: [Triple: Int] = [:]
  var distinct: [Triple] = []
  let ids = values.map { v in
    if let i = index[v] { return i }
    index[v] = distinct.count
    distinct.append(v)
    return distinct.count - 1
  }
  var rank = [Int](repeating: 0, count: distinct.count)
  for (r, i) in distinct.indices.sorted(by: { distinct[$0] < distinct[$1] }).enumerated() { rank[i] = r }
  return ids.map { rank[$0] }
}
