extension CheckResult {
  /// Sorts `results` into ``reportOrder(_:_:)`` by small precomputed keys, then moves each result
  /// once into place: an account's assessment holds tens of thousands of (large) results.
  public static func sortForReport(_ results: inout [CheckResult]) {
    struct Key {
      var rank: Int
      var checkID: String
      var check: Int
      var principal: (String, String, String)
      var policy: (String, String, String)
    }
    let keys = results.map { r in
      Key(
        rank: r.status.severityRank, checkID: r.checkID, check: CheckCatalog.position(of: r.checkID),
        principal: (r.principal?.type.rawValue ?? "", r.principal?.name ?? "", r.principal?.arn ?? ""),
        policy: (r.policy?.name ?? "", r.policy?.arn ?? "", r.policy?.versionID ?? ""))
    }
    // order[k] is the index of the result that belongs at position k.
    var order = keys.withUnsafeBufferPointer { k in
      results.indices.sorted { i, j in
        if k[i].rank != k[j].rank { return k[i].rank < k[j].rank }
        if k[i].checkID != k[j].checkID { return k[i].check < k[j].check }
        if k[i].principal != k[j].principal { return k[i].principal < k[j].principal }
        return k[i].policy < k[j].policy
      }
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
  /// control's primary test first), principal and policy.
  public static func reportOrder(_ a: CheckResult, _ b: CheckResult) -> Bool {
    if a.status.severityRank != b.status.severityRank { return a.status.severityRank < b.status.severityRank }
    if a.checkID != b.checkID { return CheckCatalog.position(of: a.checkID) < CheckCatalog.position(of: b.checkID) }
    let ka = (a.principal?.type.rawValue ?? "", a.principal?.name ?? "", a.principal?.arn ?? "")
    let kb = (b.principal?.type.rawValue ?? "", b.principal?.name ?? "", b.principal?.arn ?? "")
    if ka != kb { return ka < kb }
    return (a.policy?.name ?? "", a.policy?.arn ?? "", a.policy?.versionID ?? "") < (
      b.policy?.name ?? "", b.policy?.arn ?? "", b.policy?.versionID ?? ""
    )
  }
}
