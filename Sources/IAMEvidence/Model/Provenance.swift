import Foundation

/// The identity whose credentials took an export: the output of `aws sts get-caller-identity`
/// taken in the same session as `aws iam get-account-authorization-details` (``load(path:)``).
public struct CallerIdentity: Sendable, Hashable {
  /// `UserId`: the unique id of the calling entity (`AIDA…`, or `AROA…:session` for a role).
  public var userID: String
  /// `Account`: the 12-digit account whose credentials were used.
  public var account: String
  /// `Arn`: the calling entity's ARN (`arn:aws:iam::111122223333:user/alice`,
  /// `arn:aws:sts::111122223333:assumed-role/auditor/alice`).
  public var arn: String
  /// The file it was read from, as given to `ingest --caller-identity`.
  public var source: String
  /// SHA-256 (hex) of the file's exact bytes.
  public var sha256: String

  public init(userID: String, account: String, arn: String, source: String, sha256: String) {
    self.userID = userID
    self.account = account
    self.arn = arn
    self.source = source
    self.sha256 = sha256
  }
}

/// Who took and loaded a snapshot, and with what: recorded with every ingest in the same transaction
/// as the snapshot (table `snapshot_provenance`, covered by the snapshot's ledger entry) and stated in
/// the report's chain of custody, `evidence.xml`, OSCAL and the package's `README.txt`.
///
/// The host and the OS user are what the machine says (``HostIdentity/current()``); the operator is
/// what the person running the ingest typed; the caller identity is what AWS said to the credentials
/// that took the export. None of it is proof on its own: CloudTrail's `GetAccountAuthorizationDetails`
/// event of the caller ARN at the capture time is (README, "Quarterly audit").
public struct SnapshotProvenance: Sendable, Hashable {
  /// `--operator`: the person who ran the export and the ingest, as they named themselves.
  public var operatorName: String?
  /// `--caller-identity`: the identity whose credentials took the export.
  public var callerIdentity: CallerIdentity?
  /// The host name of the machine that ran the ingest.
  public var host: String
  /// The operating-system user that ran the ingest.
  public var osUser: String
  /// The build of the tool that ran the ingest.
  public var build: ToolBuild

  public init(operatorName: String?, callerIdentity: CallerIdentity?, host: String, osUser: String, build: ToolBuild) {
    self.operatorName = operatorName
    self.callerIdentity = callerIdentity
    self.host = host
    self.osUser = osUser
    self.build = build
  }

  /// The provenance of an ingest run now on this machine (``HostIdentity/current()``, ``ToolBuild/current``).
  public static func here(operatorName: String?, callerIdentity: CallerIdentity?, host: HostIdentity) -> SnapshotProvenance {
    SnapshotProvenance(operatorName: operatorName, callerIdentity: callerIdentity, host: host.host, osUser: host.user, build: .current)
  }

  /// `operator Dana (OS user dana on host audit-1)` or `OS user dana on host audit-1`.
  public var ingestedBy: String {
    (operatorName.map { "operator \($0) (" } ?? "") + "OS user \(osUser) on host \(host)" + (operatorName == nil ? "" : ")")
  }
}

extension SnapshotProvenance {
  /// The longest `--operator` name, in UTF-8 bytes.
  public static let maximumOperatorBytes = 256

  /// `--operator NAME` checked: not blank, at most ``maximumOperatorBytes``, no control characters;
  /// surrounding blanks dropped.
  public static func operatorName(_ text: String) throws(WorkflowError) -> String {
    let name = text.trimmingCharacters(in: .whitespaces)
    if name.isEmpty { throw WorkflowError(path: nil, message: "--operator must name who runs the export and the ingest (it is blank)") }
    if name.utf8.count > maximumOperatorBytes {
      throw WorkflowError(path: nil, message: "--operator is longer than \(maximumOperatorBytes) bytes")
    }
    if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
      throw WorkflowError(path: nil, message: "--operator holds a control character")
    }
    return name
  }
}
