import SQLiteDB

/// How a stored review was signed (`review import --sign-key`).
public struct ReviewSignature: Sendable, Hashable {
  /// ``SigningKeys/fingerprint(_:)`` of the public key.
  public var fingerprint: String
  /// The public key, SubjectPublicKeyInfo PEM.
  public var publicKeyPEM: String
  /// Ed25519 signature of the sheet's bytes, base64.
  public var signature: String

  public init(fingerprint: String, publicKeyPEM: String, signature: String) {
    self.fingerprint = fingerprint
    self.publicKeyPEM = publicKeyPEM
    self.signature = signature
  }
}

extension EvidenceStore {
  /// Stores `review` in one transaction: the review and every row, or nothing. Returns the new
  /// review's id, or the id of the review already stored from the same sheet for the same snapshot
  /// (negated: nothing was written; checked inside the write lock).
  public func insertReview(
    _ review: ValidatedReview, importedAt: Timestamp, signature: ReviewSignature?
  ) throws(StoreError) -> Int {
    try wrap {
      try db.transaction {
        if let row = try db.query(
          "SELECT id FROM reviews WHERE snapshot_id = ? AND sheet_sha256 = ?", [review.snapshot.id, review.sheetSHA256]
        ).first {
          return -(try row.int("id"))
        }
        let dates = review.reviewDates
        try db.run(
          """
          INSERT INTO reviews (snapshot_id, sheet_sha256, sheet, source_name, imported_at, tool_version, reviewers, first_reviewed_on,
                               last_reviewed_on, signer_fingerprint, signer_public_key, signature)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
          [
            review.snapshot.id, review.sheetSHA256, String(decoding: review.sheet, as: UTF8.self), review.sourceName,
            importedAt.description, Self.toolVersion, JSONWriter.canonical(.array(review.reviewers.map(JSONValue.string))),
            dates.first ?? "", dates.last ?? "", signature?.fingerprint, signature?.publicKeyPEM, signature?.signature,
          ])
        let id = Int(db.lastInsertRowID)
        let insert = try db.prepare(
          """
          INSERT INTO review_rows (review_id, position, row_id, kind, principal_type, principal_id, principal_name, principal_arn, subject,
                                   finding_identity, decision, reviewer, reviewed_on, comment, ticket)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """)
        for (position, row) in review.rows.enumerated() {
          let p = row.item.principal
          let values: [any SQLiteBindable] = [
            id, position, row.item.rowID, row.item.kind.rawValue, p?.type.rawValue, p?.id, p?.name, p?.arn, row.item.subject,
            row.item.findingIdentity, row.answer.decision.rawValue, row.answer.reviewer, row.answer.reviewedOn, row.answer.comment,
            row.answer.ticket,
          ]
          try insert.execute(values)
        }
        try Ledger(db: db, path: path).recordReview(id, snapshotID: review.snapshot.id, recordedAt: importedAt.description)
        return id
      }
    }
  }

  /// The reviews of the snapshots `ids`, oldest import first (by id).
  public func reviews(snapshotIDs ids: [Int]) throws(StoreError) -> [StoredReview] {
    guard !ids.isEmpty else { return [] }
    return try wrap {
      let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
      let reviewRows = try db.query("SELECT * FROM reviews WHERE snapshot_id IN (\(marks)) ORDER BY id", ids)
      let rowQuery = try db.prepare("SELECT * FROM review_rows WHERE review_id = ? ORDER BY position")
      return try reviewRows.map { r in
        let id = try r.int("id")
        let stored = StoredRow(r, table: "reviews", id: id, path: path)
        try rowQuery.bind([id])
        var rows: [StoredReviewRow] = []
        while let row = try rowQuery.step() {
          let s = StoredRow(row, table: "review_rows", id: "\(id)/\(try row.string("row_id"))", path: path)
          var principal: PrincipalRef?
          if let type = try row.optionalString("principal_type") {
            guard let t = PrincipalType(rawValue: type) else { throw s.damaged("principal_type", "unknown value \"\(type.prefix(80))\"") }
            principal = PrincipalRef(
              type: t, id: try row.string("principal_id"), name: try row.string("principal_name"), arn: try row.string("principal_arn"))
          }
          rows.append(
            StoredReviewRow(
              rowID: try row.string("row_id"), kind: try s.value("kind", as: ReviewItemKind.self), principal: principal,
              subject: try row.string("subject"), findingIdentity: try row.optionalString("finding_identity"),
              decision: try s.value("decision", as: ReviewDecision.self), reviewer: try row.string("reviewer"),
              reviewedOn: try row.string("reviewed_on"), comment: try row.string("comment"), ticket: try row.string("ticket")))
        }
        rowQuery.reset()
        return StoredReview(
          id: id, snapshotID: try r.int("snapshot_id"), sheetSHA256: try r.string("sheet_sha256"), sourceName: try r.string("source_name"),
          importedAt: try stored.timestamp("imported_at"), toolVersion: try r.string("tool_version"),
          reviewers: try stored.stringList("reviewers"), firstReviewedOn: try r.string("first_reviewed_on"),
          lastReviewedOn: try r.string("last_reviewed_on"), signerFingerprint: try r.optionalString("signer_fingerprint"),
          signature: try r.optionalString("signature"), rows: rows)
      }
    }
  }

  /// The sheet stored with review `id` (as imported), if there is such a review.
  public func reviewSheet(id: Int) throws(StoreError) -> String? {
    try wrap { try db.query("SELECT sheet FROM reviews WHERE id = ?", [id]).first.map { try $0.string("sheet") } }
  }
}
