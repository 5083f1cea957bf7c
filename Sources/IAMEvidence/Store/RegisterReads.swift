import SQLiteDB

/// Narrow reads for the privileged-access register: which result lists a snapshot holds, its open
/// results about principals, and its roles' `RoleLastUsed`. They read; the register is computed by
/// ``PrivilegedRegister`` and ``PrivilegeHistoryBuilder`` from what they return.
extension EvidenceStore {
  /// The result lists (`snapshot_results` rows) of snapshot `id`, optionally of some checks only,
  /// ordered by check, version and assessment.
  public func resultLists(snapshotID id: Int, checks: [String]? = nil) throws(StoreError) -> [ResultListRecord] {
    try wrap {
      try listRows(snapshotID: id, checks: checks, columns: "check_id, check_version, assessment_id").map { row in
        ResultListRecord(
          checkID: try row.string("check_id"), checkVersion: try row.int("check_version"), assessmentID: try row.int("assessment_id"))
      }
    }
  }

  /// The result lists of snapshot `id` for `checks`, each with its open (`fail` or `excepted`) results
  /// that are about a principal: what the register's history follows from snapshot to snapshot.
  public func openPrincipalResults(
    snapshotID id: Int, checks: [String]
  ) throws(StoreError) -> (lists: [ResultListRecord], open: [OpenPrincipalResult]) {
    try wrap {
      let find = try db.prepare(
        "SELECT status, principal_type, principal_id, principal_name, principal_arn FROM result_details WHERE id = ?")
      var lists: [ResultListRecord] = []
      var open: [OpenPrincipalResult] = []
      for row in try listRows(snapshotID: id, checks: checks, columns: "id, check_id, check_version, assessment_id, open_ids") {
        let list = ResultListRecord(
          checkID: try row.string("check_id"), checkVersion: try row.int("check_version"), assessmentID: try row.int("assessment_id"))
        lists.append(list)
        for detailID in try StoredRow(row, table: "snapshot_results", id: try row.int("id"), path: path).idList("open_ids", in: db) {
          try find.bind([detailID])
          guard let detail = try find.step() else {
            throw StoreError(path: path, message: "result \(detailID) is missing (damaged database?)")
          }
          let stored = StoredRow(detail, table: "result_details", id: detailID, path: path)
          let status = try stored.value("status", as: ResultStatus.self)
          defer { find.reset() }
          guard try detail.optionalString("principal_type") != nil else { continue }
          open.append(
            OpenPrincipalResult(
              checkID: list.checkID, checkVersion: list.checkVersion, status: status,
              principal: PrincipalRef(
                type: try stored.value("principal_type", as: PrincipalType.self), id: try detail.optionalString("principal_id") ?? "",
                name: try detail.optionalString("principal_name") ?? "", arn: try detail.optionalString("principal_arn") ?? "")))
        }
      }
      return (lists, open)
    }
  }

  /// `RoleLastUsed` of the roles of snapshot `id` that have one recorded, by the role's unique id (a
  /// role missing from the result has no recorded use). The same values as the `principals` view's
  /// `role_last_used_date` and `role_last_used_region`, read from the snapshot's usage list directly:
  /// the view decodes every principal of the snapshot (0.4 s for a 100 MB export), this reads only the
  /// roles' usage rows.
  public func roleLastUse(snapshotID id: Int) throws(StoreError) -> [String: RoleLastUse] {
    try wrap {
      guard let lists = try db.query("SELECT usage_ids FROM snapshot_principal_lists WHERE snapshot_id = ?", [id]).first else {
        throw StoreError(path: path, message: "snapshot \(id) has no principal list (damaged database?)")
      }
      let usage = try db.prepare(
        """
        SELECT s.principal_id, u.last_used_date, u.last_used_region FROM role_usages u
        JOIN principal_states s ON s.id = u.principal_state WHERE u.id = ?
        """)
      var out: [String: RoleLastUse] = [:]
      for usageID in try StoredRow(lists, table: "snapshot_principal_lists", id: id, path: path).idList("usage_ids", in: db) {
        try usage.bind([usageID])
        guard let row = try usage.step() else { throw StoreError(path: path, message: "role usage \(usageID) is missing") }
        // The empty string stands for "absent" in these NOT NULL columns (they are part of a unique key).
        let date = try row.string("last_used_date")
        let region = try row.string("last_used_region")
        out[try row.string("principal_id")] = RoleLastUse(
          date: date.isEmpty ? nil : try StoredRow(row, table: "role_usages", id: usageID, path: path).parse("last_used_date", date),
          region: region.isEmpty ? nil : region)
        usage.reset()
      }
      return out
    }
  }

  private func listRows(snapshotID id: Int, checks: [String]?, columns: String) throws -> [SQLiteRow] {
    var sql = "SELECT \(columns) FROM snapshot_results WHERE snapshot_id = ?"
    var args: [any SQLiteBindable] = [id]
    if let checks {
      guard !checks.isEmpty else { return [] }
      sql += " AND check_id IN (" + checks.map { _ in "?" }.joined(separator: ",") + ")"
      args += checks.map { $0 as any SQLiteBindable }
    }
    return try db.query(sql + " ORDER BY check_id, check_version, assessment_id", args)
  }
}
