import Crypto
import SQLiteDB

/// Writes a decoded snapshot with prepared statements. Documents, principal states and managed-policy
/// states are content-addressed: what an earlier snapshot already stored is linked, not copied.
struct SnapshotWriter {
  let db: SQLiteConnection
  let snapshotID: Int
  let insertDocument: SQLiteStatement
  let findDocument: SQLiteStatement
  let insertPrincipalState: SQLiteStatement
  let findPrincipalState: SQLiteStatement
  let insertInline: SQLiteStatement
  let insertAttachment: SQLiteStatement
  let insertGroup: SQLiteStatement
  let insertTag: SQLiteStatement
  let insertProfile: SQLiteStatement
  let insertUsage: SQLiteStatement
  let findUsage: SQLiteStatement
  let insertPrincipalList: SQLiteStatement
  let insertPolicyState: SQLiteStatement
  let findPolicyState: SQLiteStatement
  let insertVersion: SQLiteStatement
  let linkPolicy: SQLiteStatement
  var documentIDs: [String: Int64] = [:]

  init(db: SQLiteConnection, snapshotID: Int) throws {
    self.db = db
    self.snapshotID = snapshotID
    insertDocument = try db.prepare("INSERT INTO documents (sha256, canonical) VALUES (?, ?) ON CONFLICT(sha256) DO NOTHING")
    findDocument = try db.prepare("SELECT id FROM documents WHERE sha256 = ?")
    insertPrincipalState = try db.prepare(
      """
      INSERT INTO principal_states (sha256, principal_type, principal_id, name, arn, path, create_date, boundary_arn,
        boundary_type, trust_document_id) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO NOTHING
      """)
    findPrincipalState = try db.prepare("SELECT id FROM principal_states WHERE sha256 = ?")
    insertInline = try db.prepare(
      "INSERT INTO principal_inline_policies (principal_state, policy_name, position, document_id) VALUES (?,?,?,?)")
    insertAttachment = try db.prepare(
      "INSERT INTO principal_attachments (principal_state, policy_arn, policy_name, position) VALUES (?,?,?,?)")
    insertGroup = try db.prepare("INSERT INTO principal_groups (principal_state, group_name, position) VALUES (?,?,?)")
    insertTag = try db.prepare("INSERT INTO principal_tags (principal_state, key, value, position) VALUES (?,?,?,?)")
    insertProfile = try db.prepare(
      "INSERT INTO principal_instance_profiles (principal_state, name, instance_profile_id, arn, position) VALUES (?,?,?,?,?)")
    insertUsage = try db.prepare(
      """
      INSERT INTO role_usages (principal_state, last_used_date, last_used_region) VALUES (?,?,?)
        ON CONFLICT(principal_state, last_used_date, last_used_region) DO NOTHING
      """)
    findUsage = try db.prepare("SELECT id FROM role_usages WHERE principal_state = ? AND last_used_date = ? AND last_used_region = ?")
    insertPrincipalList = try db.prepare("INSERT INTO snapshot_principal_lists (snapshot_id, state_ids, usage_ids) VALUES (?,?,?)")
    insertPolicyState = try db.prepare(
      """
      INSERT INTO managed_policy_states (sha256, arn, policy_id, name, path, default_version_id, is_attachable, description,
        create_date, update_date, is_aws_managed) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO NOTHING
      """)
    findPolicyState = try db.prepare("SELECT id FROM managed_policy_states WHERE sha256 = ?")
    insertVersion = try db.prepare(
      """
      INSERT INTO managed_policy_state_versions (policy_state, version_id, is_default, create_date, position, document_id)
        VALUES (?,?,?,?,?,?)
      """)
    linkPolicy = try db.prepare(
      "INSERT INTO snapshot_managed_policies (snapshot_id, policy_state, attachment_count, boundary_usage_count) VALUES (?,?,?,?)")
  }

  /// Inserts unless present; returns the row id either way.
  private func upsert(_ insert: SQLiteStatement, _ find: SQLiteStatement, sha: String, _ args: [any SQLiteBindable]) throws -> (
    Int64, Bool
  ) {
    try insert.execute(args)
    if db.changes > 0 { return (db.lastInsertRowID, true) }
    try find.bind([sha])
    guard case .integer(let existing) = try find.step()?.values.first else {
      throw StoreError(path: db.path, message: "row \(sha) missing after insert")
    }
    find.reset()
    return (existing, false)
  }

  mutating func documentID(_ doc: PolicyDocumentText) throws -> Int64 {
    if let id = documentIDs[doc.sha256] { return id }
    let (id, _) = try upsert(insertDocument, findDocument, sha: doc.sha256, [doc.sha256, doc.canonical])
    documentIDs[doc.sha256] = id
    return id
  }

  mutating func write(_ snapshot: AuthorizationSnapshot, progress: ((IngestProgress) -> Void)?) throws {
    let total = snapshot.principals.count
    var stateIDs: [Int64] = []
    var usageIDs: [Int64] = []
    for (n, p) in snapshot.principals.enumerated() {
      let trustID = try p.trustPolicy.map { try documentID($0) }
      let createDate = p.createDate?.description
      let sha = StateHash.principal(p, createDate: createDate)
      let (stateID, isNew) = try upsert(
        insertPrincipalState, findPrincipalState, sha: sha,
        [
          sha, p.type.rawValue, p.id, p.name, p.arn, p.path, createDate, p.permissionsBoundary?.arn, p.permissionsBoundary?.type,
          trustID,
        ])
      if isNew {
        for (i, policy) in p.inlinePolicies.enumerated() {
          try insertInline.execute([stateID, policy.name, i, try documentID(policy.document)])
        }
        for (i, a) in p.attachedPolicies.enumerated() { try insertAttachment.execute([stateID, a.arn, a.name, i]) }
        for (i, g) in p.groups.enumerated() { try insertGroup.execute([stateID, g, i]) }
        for (i, t) in p.tags.enumerated() { try insertTag.execute([stateID, t.key, t.value, i]) }
        for (i, ip) in p.instanceProfiles.enumerated() { try insertProfile.execute([stateID, ip.name, ip.id, ip.arn, i]) }
      }
      stateIDs.append(stateID)
      if p.roleLastUsedDate != nil || p.roleLastUsedRegion != nil {
        let usage: [any SQLiteBindable] = [stateID, p.roleLastUsedDate?.description ?? "", p.roleLastUsedRegion ?? ""]
        try insertUsage.execute(usage)
        if db.changes > 0 {
          usageIDs.append(db.lastInsertRowID)
        } else {
          try findUsage.bind(usage)
          guard case .integer(let existing) = try findUsage.step()?.values.first else {
            throw StoreError(path: db.path, message: "role usage missing after insert")
          }
          usageIDs.append(existing)
          findUsage.reset()
        }
      }
      if n % 1000 == 999 { progress?(.storedPrincipals(done: n + 1, total: total)) }
    }
    try insertPrincipalList.execute([snapshotID, IDList.encode(stateIDs), IDList.encode(usageIDs)])
    progress?(.storedPrincipals(done: total, total: total))
    let policyTotal = snapshot.managedPolicies.count
    for (n, m) in snapshot.managedPolicies.enumerated() {
      let (createDate, updateDate) = (m.createDate?.description, m.updateDate?.description)
      let versionDates = m.versions.map { $0.createDate?.description }
      let sha = StateHash.managedPolicy(m, createDate: createDate, updateDate: updateDate, versionDates: versionDates)
      let (stateID, isNew) = try upsert(
        insertPolicyState, findPolicyState, sha: sha,
        [sha, m.arn, m.id, m.name, m.path, m.defaultVersionId, m.isAttachable, m.description, createDate, updateDate, m.isAWSManaged])
      if isNew {
        for (i, v) in m.versions.enumerated() {
          try insertVersion.execute([stateID, v.versionId, v.isDefault, versionDates[i], i, try documentID(v.document)])
        }
      }
      try linkPolicy.execute([snapshotID, stateID, m.attachmentCount, m.permissionsBoundaryUsageCount])
      if n % 1000 == 999 { progress?(.storedPolicies(done: n + 1, total: policyTotal)) }
    }
    progress?(.storedPolicies(done: policyTotal, total: policyTotal))
  }
}

/// Content hashes of principal and managed-policy states: everything stored in the state rows and
/// their children, and nothing that moves every month (`RoleLastUsed`, attachment counts). The hash
/// is the SHA-256 of a canonical JSON array of those fields, written straight to bytes (the same bytes
/// as the ``JSONValue`` array of them, which a test keeps true); times are given as their stored text.
enum StateHash {
  static func principal(_ p: Principal, createDate: String?) -> String {
    var w = ArrayWriter()
    w.open()
    w.string(p.type.rawValue)
    w.string(p.id)
    w.string(p.name)
    w.string(p.arn)
    w.string(p.path)
    w.string(createDate)
    w.string(p.permissionsBoundary?.arn)
    w.string(p.permissionsBoundary?.type)
    w.string(p.trustPolicy?.sha256)
    w.list(p.inlinePolicies) { w, x in
      w.string(x.name)
      w.string(x.document.sha256)
    }
    w.list(p.attachedPolicies) { w, x in
      w.string(x.arn)
      w.string(x.name)
    }
    w.open()
    for g in p.groups { w.string(g) }
    w.close()
    w.list(p.tags) { w, x in
      w.string(x.key)
      w.string(x.value)
    }
    w.list(p.instanceProfiles) { w, x in
      w.string(x.name)
      w.string(x.id)
      w.string(x.arn)
    }
    w.close()
    return ContentHash.hex(w.out)
  }

  /// `dates` are the stored texts of the policy's create and update dates and of each version's
  /// create date, in order.
  static func managedPolicy(_ m: ManagedPolicy, createDate: String?, updateDate: String?, versionDates: [String?]) -> String {
    var w = ArrayWriter()
    w.open()
    w.string(m.arn)
    w.string(m.id)
    w.string(m.name)
    w.string(m.path)
    w.string(m.defaultVersionId)
    w.bool(m.isAttachable)
    w.string(m.description)
    w.string(createDate)
    w.string(updateDate)
    w.open()
    for (v, date) in zip(m.versions, versionDates) {
      w.open()
      w.string(v.versionId)
      w.bool(v.isDefault)
      w.string(date)
      w.string(v.document.sha256)
      w.close()
    }
    w.close()
    w.close()
    return ContentHash.hex(w.out)
  }

  /// Canonical JSON arrays of strings, booleans and nulls, written as they go.
  struct ArrayWriter {
    var out: [UInt8] = []
    private var needsComma = false

    init() { out.reserveCapacity(512) }

    private mutating func separate() {
      if needsComma { out.append(UInt8(ascii: ",")) }
      needsComma = true
    }

    mutating func open() {
      separate()
      out.append(UInt8(ascii: "["))
      needsComma = false
    }

    mutating func close() {
      out.append(UInt8(ascii: "]"))
      needsComma = true
    }

    /// A string, or null.
    mutating func string(_ s: String?) {
      separate()
      if let s { JSONWriter.writeString(s, into: &out) } else { out.append(contentsOf: "null".utf8) }
    }

    /// A boolean, or null.
    mutating func bool(_ b: Bool?) {
      separate()
      out.append(contentsOf: (b.map { $0 ? "true" : "false" } ?? "null").utf8)
    }

    /// An array holding one array per item, whose elements `body` writes.
    mutating func list<T>(_ items: [T], _ body: (inout ArrayWriter, T) -> Void) {
      open()
      for item in items {
        open()
        body(&self, item)
        close()
      }
      close()
    }
  }
}
