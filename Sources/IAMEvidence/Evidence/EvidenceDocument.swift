import Crypto

/// What the evidence covers and what it does not: one text, stated the same way in the report's
/// "Scope and limitations" section (and on its first printed page), the package's `README.txt`,
/// `evidence.xml` and OSCAL. The auditor decides reliance on it.
public struct ScopeStatement: Sendable, Hashable {
  /// The AWS accounts the evidence covers.
  public var accounts: [String]
  /// The action catalog the checks' targets are read against (``ActionCatalogInfo/description``);
  /// nil when the evidence names none.
  public var actionCatalog: String?
  /// The build of the tool that stated the evidence.
  public var toolBuild: ToolBuild

  /// What every evidence examines: the checks read IAM identities and their policies, nothing else.
  public static let examined =
    "the IAM users, groups and roles in each export (aws iam get-account-authorization-details) and their policies: inline policies, attached customer- and AWS-managed policies (every version), permissions boundaries, group memberships, role trust policies and each role's last use"

  /// What no check examines: access that IAM identity policies do not show, or do not decide alone.
  public static let notExamined = [
    "the root user (its credentials and use are not in the export)",
    "IAM Identity Center (permission sets and their assignments)",
    "KMS key policies and grants (a key policy or a grant can give access that no IAM policy shows)",
    "service control policies (SCPs) and other AWS Organizations policies (they can deny what IAM allows)",
    "resource-based policies other than role trust policies (S3 bucket, SQS, SNS, Lambda and other resource policies)",
    "credentials and MFA (passwords, access keys, their age and use, MFA devices)",
  ]

  /// ``notExamined`` in brief, each item without its parenthesis (the report's first page).
  public static var notExaminedInBrief: [String] {
    notExamined.map { item in item.range(of: " (").map { String(item[..<$0.lowerBound]) } ?? item }
  }

  /// The sentence on reliance that closes the statement.
  public static let reliance =
    "What the evidence does not examine can grant or deny access that no IAM identity policy shows: the auditor decides what reliance to place on this evidence, and which other evidence covers the rest."

  /// The statement as lines of plain text (`README.txt`, OSCAL remarks), in this order: accounts,
  /// examined, not examined, action catalog, tool build, reliance.
  public var lines: [String] {
    [
      "Accounts covered: \(accounts.joined(separator: ", ")).",
      "Examined: \(Self.examined).",
      "Not examined: " + Self.notExamined.joined(separator: "; ") + ".",
      "Action catalog: " + (actionCatalog ?? "not recorded") + ".",
      "Tool build: \(toolBuild.description).",
      Self.reliance,
    ]
  }
}

extension EvidenceModel {
  /// The evidence's scope and limitations (``ScopeStatement``).
  public var scopeStatement: ScopeStatement {
    ScopeStatement(accounts: [account], actionCatalog: actionCatalog?.description, toolBuild: toolBuild)
  }

  /// The SHA-256 (hex) of what the document states, in a canonical JSON form: the account, the
  /// period, the generation time, the tool build, and for every snapshot (the state at the period's
  /// start first) its id, SHA-256 and ledger head, the chain head, and every review shown (id and
  /// sheet SHA-256). The rows these name are bound by the ledger, so another database state or
  /// another time gives another digest.
  public var evidenceDigest: String {
    var snapshots: [JSONValue] = []
    for s in (periodStart.map { [$0] } ?? []) + self.snapshots {
      snapshots.append(
        .object([
          ("chain", ledger.snapshots[s.id].map { .string($0.head) } ?? .null), ("id", .number(String(s.id))), ("sha256", .string(s.sha256)),
        ]))
    }
    let value = JSONValue.object([
      ("account", .string(account)),
      ("chain", ledger.latest.map { .string($0.head) } ?? .null),
      ("format", .string("iam-evidence document 1")),
      ("generated_at", .string(generatedAt.description)),
      ("period_from", periodFrom.map { .string($0.description) } ?? .null),
      ("period_to", periodTo.map { .string($0.description) } ?? .null),
      ("reviews", .array(reviews.map { .array([.number(String($0.review.id)), .string($0.review.sheetSHA256)]) })),
      ("snapshots", .array(snapshots)),
      ("tool", .string(toolBuild.description)),
    ])
    return SHA256.hash(data: Array(JSONWriter.canonical(value).utf8)).hexString
  }

  /// The document's id: `IAMEV-` and the first 16 hex digits (upper case, four groups) of
  /// ``evidenceDigest``. The report (every printed page), `evidence.xml`, OSCAL (`document-id`) and the
  /// package's `README.txt` made together carry the same id; the same database and generation time
  /// give the same id.
  public var documentID: String {
    let digits = Array(evidenceDigest.uppercased().prefix(16))
    return "IAMEV-" + stride(from: 0, to: 16, by: 4).map { String(digits[$0..<($0 + 4)]) }.joined(separator: "-")
  }

  /// Who prepared the evidence, for the sign-off: the operator recorded with the ingest of the
  /// current snapshot (``SnapshotProvenance/operatorName``); nil when none was recorded.
  public var preparedBy: String? { provenance[current.id]?.operatorName }

  /// The operators recorded with the ingest of the evidence's snapshots (the state at the period's
  /// start included), sorted, each once.
  public var operators: [String] {
    let ids = (periodStart.map { [$0.id] } ?? []) + snapshots.map(\.id)
    return Array(Set(ids.compactMap { provenance[$0]?.operatorName })).sorted()
  }
}
