/// How the captured-at time of a snapshot was determined.
public enum CapturedAtSource: String, Sendable, Codable {
  /// Given with `--captured-at`.
  case option
  /// The snapshot file's modification time.
  case fileModificationTime = "file-mtime"
  /// Standard input has no file time: the ingest time stands in.
  case ingestTime = "ingest-time"
}

/// One stored snapshot, as listed by `iam-evidence snapshots`.
public struct SnapshotRecord: Sendable, Hashable {
  public var id: Int
  public var account: String
  public var capturedAt: Timestamp
  public var capturedAtSource: CapturedAtSource
  public var ingestedAt: Timestamp
  public var sourceName: String
  public var byteSize: Int
  public var sha256: String
  public var encoding: String
  public var toolVersion: String
  public var label: String?
  public var isTruncated: Bool
  public var counts: SnapshotCounts
}

extension SnapshotRecord {
  /// What ``encoding`` means, in words for reports: how the export wrote its policy documents.
  /// Every encoding is decoded to the same canonical JSON before any check: it says how the file was
  /// produced, nothing about the evidence's quality.
  public var encodingDescription: String { Self.describe(encoding: encoding) }

  /// See ``encodingDescription``.
  public static func describe(encoding: String) -> String {
    switch encoding {
    case "cli": return "policy documents as JSON objects, as the AWS CLI prints them"
    case "raw": return "policy documents as percent-encoded JSON strings, as the raw IAM API returns them"
    case "json-string": return "policy documents as JSON text inside strings"
    case "mixed":
      return
        "policy documents in more than one of the encodings AWS tools write (JSON objects, percent-encoded strings, JSON text in strings), all decoded to the same canonical JSON"
    case "none": return "no policy documents"
    default: return "policy document encoding \(encoding)"
    }
  }

  /// The `snapshots --format json` object.
  public var jsonValue: JSONValue {
    .object([
      ("id", .number(String(id))),
      ("account", .string(account)),
      ("captured_at", .string(capturedAt.description)),
      ("captured_at_source", .string(capturedAtSource.rawValue)),
      ("ingested_at", .string(ingestedAt.description)),
      ("sha256", .string(sha256)),
      ("source", .string(sourceName)),
      ("byte_size", .number(String(byteSize))),
      ("encoding", .string(encoding)),
      ("label", label.map(JSONValue.string) ?? .null),
      ("truncated", .bool(isTruncated)),
      ("tool_version", .string(toolVersion)),
      (
        "counts",
        .object([
          ("users", .number(String(counts.users))), ("groups", .number(String(counts.groups))),
          ("roles", .number(String(counts.roles))), ("managed_policies", .number(String(counts.managedPolicies))),
          ("inline_policies", .number(String(counts.inlinePolicies))),
        ])
      ),
    ])
  }
}

/// What an ingest did.
public enum IngestOutcome: Sendable {
  case ingested(SnapshotRecord)
  /// The same bytes were ingested before; nothing was added.
  case alreadyIngested(SnapshotRecord)
}

/// Progress of a long ingest, for a terminal indicator.
public enum IngestProgress: Sendable {
  /// The file's SHA-256 is known (and it was not ingested before).
  case hashed
  case decoded(principals: Int, policies: Int)
  case storedPrincipals(done: Int, total: Int)
  case storedPolicies(done: Int, total: Int)
  /// The snapshot's transaction is committed.
  case committed
}

/// What the store records about a snapshot it writes, besides the decoded snapshot itself.
public struct NewSnapshot: Sendable {
  public var account: String
  public var capturedAt: Timestamp
  public var capturedAtSource: CapturedAtSource
  public var ingestedAt: Timestamp
  /// The name shown in messages and recorded (a path, or `-` for standard input).
  public var sourceName: String
  public var byteSize: Int
  /// SHA-256 of the file's exact bytes.
  public var sha256: String
  public var label: String?
  /// Who took and loaded it, where, with which build; nil records none (the library used without it).
  public var provenance: SnapshotProvenance?

  public init(
    account: String, capturedAt: Timestamp, capturedAtSource: CapturedAtSource, ingestedAt: Timestamp, sourceName: String,
    byteSize: Int, sha256: String, label: String?, provenance: SnapshotProvenance? = nil
  ) {
    self.provenance = provenance
    self.account = account
    self.capturedAt = capturedAt
    self.capturedAtSource = capturedAtSource
    self.ingestedAt = ingestedAt
    self.sourceName = sourceName
    self.byteSize = byteSize
    self.sha256 = sha256
    self.label = label
  }
}
