import Crypto
import SQLiteDB

/// Writes a decoded snapshot. Documents, principal states and managed-policy states are
/// content-addressed: what an earlier snapshot already stored is linked, not copied.
///
/// The states of the account's previous snapshot are read first (by id, once): a principal or
/// policy whose state it held is linked by id alone, without a write or a look-up; most of an
/// account's principals and policies do not change from one export to the next. Rows are written
/// one prepared statement per table, from typed values (``AddressedRows``, ``InsertedRows``).
struct SnapshotWriter {
  let db: SQLiteConnection
  let snapshotID: Int
  let documents: AddressedRows<String>
  let principalStates: AddressedRows<String>
  let inline: InsertedRows
  let attachments: InsertedRows
  let groups: InsertedRows
  let tags: InsertedRows
  let profiles: InsertedRows
  let usages: AddressedRows<UsageKey>
  let policyStates: AddressedRows<String>
  let versions: InsertedRows
  let links: InsertedRows
  var documentIDs: [String: Int64] = [:]
  /// Principal and managed-policy states by SHA-256, and role usages by key: those of the account's
  /// previous snapshot, and those written or found since.
  var knownStates: [String: Int64] = [:]
  var knownPolicyStates: [String: Int64] = [:]
  var usageIDs: [UsageKey: Int64] = [:]
  /// The principal lists of the account's previous snapshot as stored, which this one's are written
  /// against (``IDList/store(_:previous:in:minimumBaseLength:)``).
  var previousLists: (states: String, usages: String)?

  /// A role usage's unique key (`RoleLastUsed` of one role state).
  struct UsageKey: Hashable {
    var state: Int64
    var date: String
    var region: String
  }

  init(db: SQLiteConnection, snapshotID: Int) throws {
    self.db = db
    self.snapshotID = snapshotID
    documents = try AddressedRows(
      db: db, table: "documents", insert: "INSERT INTO documents (sha256, canonical)", conflict: "sha256", columns: 2,
      find: "SELECT id FROM documents WHERE sha256 = ?", bindKey: { try $0.bind([$1]) })
    principalStates = try AddressedRows(
      db: db, table: "principal_states",
      insert: """
        INSERT INTO principal_states (sha256, principal_type, principal_id, name, arn, path, create_date, boundary_arn,
          boundary_type, trust_document_id)
        """, conflict: "sha256", columns: 10, find: "SELECT id FROM principal_states WHERE sha256 = ?", bindKey: { try $0.bind([$1]) })
    inline = try InsertedRows(
      db: db, "INSERT INTO principal_inline_policies (principal_state, policy_name, position, document_id)", columns: 4)
    attachments = try InsertedRows(
      db: db, "INSERT INTO principal_attachments (principal_state, policy_arn, policy_name, position)", columns: 4)
    groups = try InsertedRows(db: db, "INSERT INTO principal_groups (principal_state, group_name, position)", columns: 3)
    tags = try InsertedRows(db: db, "INSERT INTO principal_tags (principal_state, key, value, position)", columns: 4)
    profiles = try InsertedRows(
      db: db, "INSERT INTO principal_instance_profiles (principal_state, name, instance_profile_id, arn, position)", columns: 5)
    usages = try AddressedRows(
      db: db, table: "role_usages", insert: "INSERT INTO role_usages (principal_state, last_used_date, last_used_region)",
      conflict: "principal_state, last_used_date, last_used_region", columns: 3,
      find: "SELECT id FROM role_usages WHERE principal_state = ? AND last_used_date = ? AND last_used_region = ?",
      bindKey: { try $0.bind([$1.state, $1.date, $1.region]) })
    policyStates = try AddressedRows(
      db: db, table: "managed_policy_states",
      insert: """
        INSERT INTO managed_policy_states (sha256, arn, policy_id, name, path, default_version_id, is_attachable, description,
          create_date, update_date, is_aws_managed)
        """, conflict: "sha256", columns: 11, find: "SELECT id FROM managed_policy_states WHERE sha256 = ?",
      bindKey: { try $0.bind([$1]) })
    versions = try InsertedRows(
      db: db, "INSERT INTO managed_policy_state_versions (policy_state, version_id, is_default, create_date, position, document_id)",
      columns: 6)
    links = try InsertedRows(
      db: db, "INSERT INTO snapshot_managed_policies (snapshot_id, policy_state, attachment_count, boundary_usage_count)", columns: 4)
    try loadPrevious()
  }

  /// Reads the states and role usages of the account's previous snapshot (the latest stored before
  /// this one) into ``knownStates``, ``knownPolicyStates`` and ``usageIDs``.
  private mutating func loadPrevious() throws {
    guard
      case .integer(let previous)? = try db.scalar(
        "SELECT max(id) FROM snapshots WHERE id < ?1 AND account_id = (SELECT account_id FROM snapshots WHERE id = ?1)", [snapshotID])
    else { return }
    if let row = try db.query("SELECT state_ids, usage_ids FROM snapshot_principal_lists WHERE snapshot_id = ?", [previous]).first {
      previousLists = (try row.string("state_ids"), try row.string("usage_ids"))
    }
    if let (stateText, usageText) = previousLists, let states = try IDList.decode(stateText, in: db),
      let usages = try IDList.decode(usageText, in: db)
    {
      try Self.rows(of: states, try db.prepare("SELECT id, sha256 FROM principal_states WHERE id BETWEEN ? AND ?")) { row in
        if let id = row.int64(0), let sha = row.text(1) { knownStates[sha] = id }
      }
      try Self.rows(
        of: usages, try db.prepare("SELECT id, principal_state, last_used_date, last_used_region FROM role_usages WHERE id BETWEEN ? AND ?")
      ) { row in
        if let id = row.int64(0), let state = row.int64(1), let date = row.text(2), let region = row.text(3) {
          usageIDs[UsageKey(state: state, date: date, region: region)] = id
        }
      }
    }
    for row in try db.query(
      """
      SELECT s.id, s.sha256 FROM snapshot_managed_policies l JOIN managed_policy_states s ON s.id = l.policy_state
      WHERE l.snapshot_id = ?
      """, [previous])
    {
      knownPolicyStates[try row.string("sha256")] = try row.int64("id")
    }
  }

  /// Hands `each` the rows of `statement` (which takes a lowest and a highest id) for the ascending
  /// `ids`, read in range scans of ids less than 64 apart.
  private static func rows(of ids: [Int64], _ statement: SQLiteStatement, each: (SQLiteRawRow) -> Void) throws {
    var first = 0
    while first < ids.count {
      var last = first
      while last + 1 < ids.count && ids[last + 1] - ids[last] <= 64 { last += 1 }
      try statement.bind([ids[first], ids[last]])
      try statement.forEachRawRow(each)
      statement.reset()
      first = last + 1
    }
  }

  /// The id of `doc`, written unless stored.
  mutating func documentID(_ doc: PolicyDocumentText) throws -> Int64 {
    if let id = documentIDs[doc.sha256] { return id }
    documents.row.text(doc.sha256)
    documents.row.text(doc.canonical)
    let id = try documents.write(key: doc.sha256).id
    documentIDs[doc.sha256] = id
    return id
  }

  mutating func write(_ snapshot: AuthorizationSnapshot, progress: ((IngestProgress) -> Void)?) throws {
    let total = snapshot.principals.count
    var stateIDs: [Int64] = []
    stateIDs.reserveCapacity(total)
    var usageList: [Int64] = []
    for (n, p) in snapshot.principals.enumerated() {
      let createDate = p.createDate?.description
      let sha = StateHash.principal(p, createDate: createDate)
      let stateID: Int64
      if let known = knownStates[sha] {
        stateID = known
      } else {
        let trustID = try p.trustPolicy.map { try documentID($0) }
        let r = principalStates
        r.row.text(sha)
        r.row.text(p.type.rawValue)
        r.row.text(p.id)
        r.row.text(p.name)
        r.row.text(p.arn)
        r.row.text(p.path)
        r.row.text(createDate)
        r.row.text(p.permissionsBoundary?.arn)
        r.row.text(p.permissionsBoundary?.type)
        r.row.integer(trustID)
        let (id, isNew) = try r.write(key: sha)
        stateID = id
        knownStates[sha] = id
        if isNew { try writeChildren(of: p, state: id) }
      }
      stateIDs.append(stateID)
      if p.roleLastUsedDate != nil || p.roleLastUsedRegion != nil {
        let key = UsageKey(state: stateID, date: p.roleLastUsedDate?.description ?? "", region: p.roleLastUsedRegion ?? "")
        if let known = usageIDs[key] {
          usageList.append(known)
        } else {
          usages.row.integer(key.state)
          usages.row.text(key.date)
          usages.row.text(key.region)
          let id = try usages.write(key: key).id
          usageIDs[key] = id
          usageList.append(id)
        }
      }
      if n % 1000 == 999 { progress?(.storedPrincipals(done: n + 1, total: total)) }
    }
    try db.prepare("INSERT INTO snapshot_principal_lists (snapshot_id, state_ids, usage_ids) VALUES (?,?,?)").execute([
      snapshotID, try IDList.store(stateIDs, previous: previousLists?.states, in: db),
      try IDList.store(usageList, previous: previousLists?.usages, in: db),
    ])
    progress?(.storedPrincipals(done: total, total: total))
    let policyTotal = snapshot.managedPolicies.count
    for (n, m) in snapshot.managedPolicies.enumerated() {
      let (createDate, updateDate) = (m.createDate?.description, m.updateDate?.description)
      let versionDates = m.versions.map { $0.createDate?.description }
      let sha = StateHash.managedPolicy(m, createDate: createDate, updateDate: updateDate, versionDates: versionDates)
      let stateID: Int64
      if let known = knownPolicyStates[sha] {
        stateID = known
      } else {
        let r = policyStates
        r.row.text(sha)
        r.row.text(m.arn)
        r.row.text(m.id)
        r.row.text(m.name)
        r.row.text(m.path)
        r.row.text(m.defaultVersionId)
        r.row.bool(m.isAttachable)
        r.row.text(m.description)
        r.row.text(createDate)
        r.row.text(updateDate)
        r.row.bool(m.isAWSManaged)
        let (id, isNew) = try r.write(key: sha)
        stateID = id
        knownPolicyStates[sha] = id
        if isNew {
          for (i, v) in m.versions.enumerated() {
            let document = try documentID(v.document)
            versions.row.integer(id)
            versions.row.text(v.versionId)
            versions.row.bool(v.isDefault)
            versions.row.text(versionDates[i])
            versions.row.integer(i)
            versions.row.integer(document)
            try versions.write()
          }
        }
      }
      links.row.integer(snapshotID)
      links.row.integer(stateID)
      links.row.integer(m.attachmentCount)
      links.row.integer(m.permissionsBoundaryUsageCount)
      try links.write()
      if n % 1000 == 999 { progress?(.storedPolicies(done: n + 1, total: policyTotal)) }
    }
    progress?(.storedPolicies(done: policyTotal, total: policyTotal))
  }

  /// The child rows of new principal state `state`.
  private mutating func writeChildren(of p: Principal, state: Int64) throws {
    for (i, policy) in p.inlinePolicies.enumerated() {
      let document = try documentID(policy.document)
      inline.row.integer(state)
      inline.row.text(policy.name)
      inline.row.integer(i)
      inline.row.integer(document)
      try inline.write()
    }
    for (i, a) in p.attachedPolicies.enumerated() {
      attachments.row.integer(state)
      attachments.row.text(a.arn)
      attachments.row.text(a.name)
      attachments.row.integer(i)
      try attachments.write()
    }
    for (i, g) in p.groups.enumerated() {
      groups.row.integer(state)
      groups.row.text(g)
      groups.row.integer(i)
      try groups.write()
    }
    for (i, t) in p.tags.enumerated() {
      tags.row.integer(state)
      tags.row.text(t.key)
      tags.row.text(t.value)
      tags.row.integer(i)
      try tags.write()
    }
    for (i, ip) in p.instanceProfiles.enumerated() {
      profiles.row.integer(state)
      profiles.row.text(ip.name)
      profiles.row.text(ip.id)
      profiles.row.text(ip.arn)
      profiles.row.integer(i)
      try profiles.write()
    }
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
