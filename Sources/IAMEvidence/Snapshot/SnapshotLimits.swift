/// What one field of a snapshot may hold. Ingest refuses a longer field with an error naming the
/// file and JSON path, before copying it: a hostile 50 MB name would otherwise be stored in several
/// tables and rendered in every report (about 20 times its size in the database, and gigabytes of
/// memory to report). The limits leave a wide margin over AWS's own IAM quotas, which no genuine
/// export exceeds.
public enum SnapshotLimits {
  /// A kind of field and its limit.
  public enum Field: Sendable, CaseIterable {
    /// Names, ids, ARNs, paths, dates, group names, version ids, regions, tag keys, the pagination
    /// marker and member names: 4 KiB. AWS: names at most 64 (users, roles) or 128 (groups,
    /// policies) characters, paths 512, ARNs 2,048, tag keys 128.
    case identifier
    /// A tag's value or a managed policy's description: 64 KiB. AWS: 256 and 1,000 characters.
    case text
    /// A policy document in canonical form (sorted keys, no insignificant whitespace): 1 MiB. AWS: a
    /// managed policy at most 6,144 characters; a principal's inline policies together 2,048 (user),
    /// 5,120 (group) or 10,240 (role); a trust policy 2,048 (4,096 on request).
    case document
    /// A policy document given as a string (percent-encoded or JSON text): 4 MiB, since
    /// percent-encoding triples the bytes of what it encodes.
    case encodedDocument

    /// The most UTF-8 bytes the field may hold.
    public var bytes: Int {
      switch self {
      case .identifier: 4 << 10
      case .text: 64 << 10
      case .document: 1 << 20
      case .encodedDocument: 4 << 20
      }
    }

    /// The error message for a field over the limit.
    var refusal: String {
      switch self {
      case .identifier:
        "longer than 4 KiB, the limit for a name, id, ARN, path or date (AWS allows at most 2,048 characters for an ARN)"
      case .text: "longer than 64 KiB, the limit for a tag value or description (AWS allows at most 1,000 characters)"
      case .document:
        "policy document longer than 1 MiB in canonical form, the limit (AWS allows at most 6,144 characters for a managed policy and 10,240 for a role's inline policies together)"
      case .encodedDocument:
        "policy document string longer than 4 MiB, the limit (AWS allows at most 10,240 characters for a policy document)"
      }
    }
  }
}
