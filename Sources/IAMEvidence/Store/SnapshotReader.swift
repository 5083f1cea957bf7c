import SQLiteDB

extension EvidenceStore {
  /// Rebuilds the decoded snapshot `id` from the database, in the order it was ingested.
  public func loadSnapshot(id: Int) throws(StoreError) -> AuthorizationSnapshot {
    try wrap {
      guard let record = try self.snapshot(id: id) else { throw StoreError(path: path, message: "no snapshot \(id)") }
      var documents: [Int64: PolicyDocumentText] = [:]
      func document(_ id: Int64) throws -> PolicyDocumentText {
        if let d = documents[id] { return d }
        guard let row = try db.query("SELECT sha256, canonical FROM documents WHERE id = ?", [id]).first else {
          throw StoreError(path: path, message: "document \(id) is missing (damaged database?)")
        }
        let d = PolicyDocumentText(storedCanonical: try row.string("canonical"), sha256: try row.string("sha256"))
        documents[id] = d
        return d
      }

      guard let lists = try db.query("SELECT state_ids, usage_ids FROM snapshot_principal_lists WHERE snapshot_id = ?", [id]).first
      else { throw StoreError(path: path, message: "snapshot \(id) has no principal list (damaged database?)") }
      let storedLists = StoredRow(lists, table: "snapshot_principal_lists", id: id, path: path)
      var usage: [Int: (date: Timestamp?, region: String?)] = [:]
      let usageStmt = try db.prepare("SELECT principal_state, last_used_date, last_used_region FROM role_usages WHERE id = ?")
      for usageID in try storedLists.idList("usage_ids", in: db) {
        try usageStmt.bind([usageID])
        guard let row = try usageStmt.step() else { throw StoreError(path: path, message: "role usage \(usageID) is missing") }
        // The empty string stands for "absent" in these NOT NULL columns (they are part of a unique key).
        let date = try row.string("last_used_date")
        let region = try row.string("last_used_region")
        usage[try row.int("principal_state")] = (
          date.isEmpty ? nil : try StoredRow(row, table: "role_usages", id: usageID, path: path).parse("last_used_date", date),
          region.isEmpty ? nil : region
        )
      }
      let stateStmt = try db.prepare("SELECT * FROM principal_states WHERE id = ?")
      var rows: [(row: SQLiteRow, type: PrincipalType, name: String, arn: String)] = []
      for stateID in try storedLists.idList("state_ids", in: db) {
        try stateStmt.bind([stateID])
        guard let row = try stateStmt.step() else { throw StoreError(path: path, message: "principal state \(stateID) is missing") }
        let type = try StoredRow(row, table: "principal_states", id: stateID, path: path).value("principal_type", as: PrincipalType.self)
        rows.append((row, type, try row.string("name"), try row.string("arn")))
      }
      // The order every report uses: users, groups, roles, each by name and ARN.
      func rank(_ t: PrincipalType) -> Int { t == .user ? 0 : t == .group ? 1 : 2 }
      rows.sort { (rank($0.type), $0.name, $0.arn) < (rank($1.type), $1.name, $1.arn) }
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
      for (row, type, name, arn) in rows {
        let state = try row.int("id")
        let stored = StoredRow(row, table: "principal_states", id: state, path: path)
        var p = Principal(
          type: type, id: try row.string("principal_id"), name: name, arn: arn, path: try row.optionalString("path"),
          createDate: try stored.optionalTimestamp("create_date"))
        p.inlinePolicies = try all(inlineStmt, state).map {
          InlinePolicy(name: try $0.string("policy_name"), document: try document(try $0.int64("document_id")))
        }
        p.attachedPolicies = try all(attachStmt, state).map {
          AttachedPolicy(name: try $0.string("policy_name"), arn: try $0.string("policy_arn"))
        }
        p.groups = try all(groupStmt, state).map { try $0.string("group_name") }
        p.tags = try all(tagStmt, state).map { Tag(key: try $0.string("key"), value: try $0.string("value")) }
        p.instanceProfiles = try all(profileStmt, state).map {
          InstanceProfile(name: try $0.string("name"), id: try $0.optionalString("instance_profile_id"), arn: try $0.optionalString("arn"))
        }
        if let boundary = try row.optionalString("boundary_arn") {
          p.permissionsBoundary = PermissionsBoundary(type: try row.optionalString("boundary_type"), arn: boundary)
        }
        if let trust = try row.optionalInt64("trust_document_id") { p.trustPolicy = try document(trust) }
        if let used = usage[state] {
          p.roleLastUsedDate = used.date
          p.roleLastUsedRegion = used.region
        }
        principals.append(p)
      }
      let versionStmt = try db.prepare(
        """
        SELECT version_id, is_default, create_date, document_id FROM managed_policy_state_versions WHERE policy_state = ?
        ORDER BY position
        """
      )
      var policies: [ManagedPolicy] = []
      for row in try db.query(
        """
        SELECT s.*, smp.attachment_count, smp.boundary_usage_count FROM snapshot_managed_policies smp
        JOIN managed_policy_states s ON s.id = smp.policy_state WHERE smp.snapshot_id = ? ORDER BY s.arn
        """, [id])
      {
        let state = try row.int("id")
        let stored = StoredRow(row, table: "managed_policy_states", id: state, path: path)
        let versions = try all(versionStmt, state).map { v in
          let versionID = try v.string("version_id")
          return PolicyVersion(
            versionId: versionID, isDefault: try v.bool("is_default"),
            createDate: try StoredRow(v, table: "managed_policy_state_versions", id: "\(state)/\(versionID)", path: path)
              .optionalTimestamp("create_date"),
            document: try document(try v.int64("document_id")))
        }
        policies.append(
          ManagedPolicy(
            arn: try row.string("arn"), name: try row.string("name"), id: try row.optionalString("policy_id"),
            path: try row.optionalString("path"), defaultVersionId: try row.optionalString("default_version_id"),
            attachmentCount: try row.optionalInt("attachment_count"),
            permissionsBoundaryUsageCount: try row.optionalInt("boundary_usage_count"),
            isAttachable: try row.optionalBool("is_attachable"), description: try row.optionalString("description"),
            createDate: try stored.optionalTimestamp("create_date"), updateDate: try stored.optionalTimestamp("update_date"),
            versions: versions))
      }
      return AuthorizationSnapshot(principals: principals, managedPolicies: policies, isTruncated: record.isTruncated)
    }
  }
}
