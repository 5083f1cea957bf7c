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
        for detailID in try StoredRow(row, table: "snapshot_results", id: try row.int("id"), path: path).idList("open_ids") {
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

  /// `RoleLastUsed` of every role of snapshot `id`, by the role's unique id (from the `principals`
  /// view); a role without a recorded use has both fields nil.
  public func roleLastUse(snapshotID id: Int) throws(StoreError) -> [String: RoleLastUse] {
    try wrap {
      var out: [String: RoleLastUse] = [:]
      for row in try db.query(
        """
        SELECT state_id, principal_id, role_last_used_date, role_last_used_region FROM principals
        WHERE snapshot_id = ? AND principal_type = 'role'
        """, [id])
      {
        let stored = StoredRow(row, table: "principals", id: try row.int("state_id"), path: path)
        out[try row.string("principal_id")] = RoleLastUse(
          date: try stored.optionalTimestamp("role_last_used_date"), region: try row.optionalString("role_last_used_region"))
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
