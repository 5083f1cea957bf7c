import SQLiteDB

extension EvidenceStore {
  /// Rebuilds the decoded snapshot `id` from the database, in the order it was ingested.
  public func loadSnapshot(id: Int) throws(StoreError) -> AuthorizationSnapshot {
    try wrap {
      var documents: [Int64: PolicyDocumentText] = [:]
      func document(_ id: Int64) throws -> PolicyDocumentText {
        if let d = documents[id] { return d }
        guard let row = try db.query("SELECT sha256, canonical FROM documents WHERE id = ?", [id]).first else {
          throw StoreError(path: path, message: "document \(id) is missing (damaged database?)")
        }
        let d = PolicyDocumentText(storedCanonical: row.string("canonical")!, sha256: row.string("sha256")!)
        documents[id] = d
        return d
      }
      func date(_ row: SQLiteRow, _ column: String) -> Timestamp? { row.string(column).flatMap(Timestamp.init(parsing:)) }

      guard let lists = try db.query("SELECT state_ids, usage_ids FROM snapshot_principal_lists WHERE snapshot_id = ?", [id]).first
      else { throw StoreError(path: path, message: "snapshot \(id) has no principal list (damaged database?)") }
      var usage: [Int: (date: String, region: String)] = [:]
      let usageStmt = try db.prepare("SELECT principal_state, last_used_date, last_used_region FROM role_usages WHERE id = ?")
      for usageID in IDList.decode(lists.string("usage_ids") ?? "[]") {
        try usageStmt.bind([usageID])
        guard let row = try usageStmt.step() else { throw StoreError(path: path, message: "role usage \(usageID) is missing") }
        usage[row.int("principal_state")!] = (row.string("last_used_date") ?? "", row.string("last_used_region") ?? "")
      }
      let stateStmt = try db.prepare("SELECT * FROM principal_states WHERE id = ?")
      var rows: [SQLiteRow] = []
      for stateID in IDList.decode(lists.string("state_ids") ?? "[]") {
        try stateStmt.bind([stateID])
        guard let row = try stateStmt.step() else { throw StoreError(path: path, message: "principal state \(stateID) is missing") }
        rows.append(row)
      }
      // The order every report uses: users, groups, roles, each by name and ARN.
      func rank(_ t: String?) -> Int { t == "user" ? 0 : t == "group" ? 1 : 2 }
      rows.sort {
        (rank($0.string("principal_type")), $0.string("name") ?? "", $0.string("arn") ?? "")
          < (rank($1.string("principal_type")), $1.string("name") ?? "", $1.string("arn") ?? "")
      }
      let inlineStmt = try db.prepare(
        "SELECT policy_name, document_id FROM principal_inline_policies WHERE principal_state = ? ORDER BY position")
      let attachStmt = try db.prepare(
        "SELECT policy_arn, policy_name FROM principal_attachments WHERE principal_state = ? ORDER BY position")
      let groupStmt = try db.prepare("SELECT group_name FROM principal_groups WHERE principal_state = ? ORDER BY position")
      let tagStmt = try db.prepare("SELECT key, value FROM principal_tags WHERE principal_state = ? ORDER BY position")
      let profileStmt = try db.prepare(
        "SELECT name, instance_profile_id, arn FROM principal_instance_profiles WHERE principal_state = ? ORDER BY position")
      func all(_ stmt: SQLiteStatement, _ state: Int) throws -> [SQLiteRow] {
        try stmt.bind([state])
        var out: [SQLiteRow] = []
        while let r = try stmt.step() { out.append(r) }
        return out
      }
      var principals: [Principal] = []
      for row in rows {
        let state = row.int("id")!
        var p = Principal(
          type: PrincipalType(rawValue: row.string("principal_type")!) ?? .user, id: row.string("principal_id")!,
          name: row.string("name")!, arn: row.string("arn")!, path: row.string("path"), createDate: date(row, "create_date"))
        p.inlinePolicies = try all(inlineStmt, state).map {
          InlinePolicy(name: $0.string("policy_name")!, document: try document(Int64($0.int("document_id")!)))
        }
        p.attachedPolicies = try all(attachStmt, state).map {
          AttachedPolicy(name: $0.string("policy_name")!, arn: $0.string("policy_arn")!)
        }
        p.groups = try all(groupStmt, state).map { $0.string("group_name")! }
        p.tags = try all(tagStmt, state).map { Tag(key: $0.string("key")!, value: $0.string("value")!) }
        p.instanceProfiles = try all(profileStmt, state).map {
          InstanceProfile(name: $0.string("name")!, id: $0.string("instance_profile_id"), arn: $0.string("arn"))
        }
        if let arn = row.string("boundary_arn") { p.permissionsBoundary = PermissionsBoundary(type: row.string("boundary_type"), arn: arn) }
        if let trust = row.int("trust_document_id") { p.trustPolicy = try document(Int64(trust)) }
        if let used = usage[state] {
          p.roleLastUsedDate = used.date.isEmpty ? nil : Timestamp(parsing: used.date)
          p.roleLastUsedRegion = used.region.isEmpty ? nil : used.region
        }
        principals.append(p)
      }
      let versionStmt = try db.prepare(
        "SELECT version_id, is_default, create_date, document_id FROM managed_policy_state_versions WHERE policy_state = ? ORDER BY position"
      )
      var policies: [ManagedPolicy] = []
      for row in try db.query(
        """
        SELECT s.*, smp.attachment_count, smp.boundary_usage_count FROM snapshot_managed_policies smp
        JOIN managed_policy_states s ON s.id = smp.policy_state WHERE smp.snapshot_id = ? ORDER BY s.arn
        """, [id])
      {
        let versions = try all(versionStmt, row.int("id")!).map {
          PolicyVersion(
            versionId: $0.string("version_id")!, isDefault: $0.bool("is_default") ?? false, createDate: date($0, "create_date"),
            document: try document(Int64($0.int("document_id")!)))
        }
        policies.append(
          ManagedPolicy(
            arn: row.string("arn")!, name: row.string("name")!, id: row.string("policy_id"), path: row.string("path"),
            defaultVersionId: row.string("default_version_id"), attachmentCount: row.int("attachment_count"),
            permissionsBoundaryUsageCount: row.int("boundary_usage_count"), isAttachable: row.bool("is_attachable"),
            description: row.string("description"), createDate: date(row, "create_date"), updateDate: date(row, "update_date"),
            versions: versions))
      }
      guard let record = try self.snapshot(id: id) else { throw StoreError(path: path, message: "no snapshot \(id)") }
      return AuthorizationSnapshot(principals: principals, managedPolicies: policies, isTruncated: record.isTruncated)
    }
  }
}
