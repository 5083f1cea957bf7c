/// One stored assessment run of a snapshot.
public struct AssessmentRecord: Sendable, Hashable {
  public var id: Int
  public var snapshotID: Int
  public var assessedAt: Timestamp
  public var toolVersion: String
  /// `id@version` of every check run.
  public var checks: [String]
  public var exceptionsSource: String?
  public var exceptionsSHA256: String
  public var exceptionsContent: String
  public var staleExceptions: [String]
}

/// One check of the catalog by id and version, as assessments record it (`id@version`).
public struct CheckVersion: Sendable, Hashable {
  public var id: String
  public var version: Int

  public init(id: String, version: Int) {
    self.id = id
    self.version = version
  }

  /// `id@version`.
  public var label: String { "\(id)@\(version)" }
}

/// An assessment to store: which checks ran on which snapshot, when, with which exceptions register.
public struct NewAssessment: Sendable {
  public var snapshotID: Int
  public var assessedAt: Timestamp
  public var checks: [CheckVersion]
  /// Where the exceptions register came from (a path), nil for none.
  public var exceptionsSource: String?
  /// SHA-256 of the register's exact bytes.
  public var exceptionsSHA256: String
  /// The register's text as read.
  public var exceptionsContent: String
  /// Ids of the register's exceptions that matched no failing result.
  public var staleExceptions: [String]

  public init(
    snapshotID: Int, assessedAt: Timestamp, checks: [CheckVersion], exceptionsSource: String?, exceptionsSHA256: String,
    exceptionsContent: String, staleExceptions: [String]
  ) {
    self.snapshotID = snapshotID
    self.assessedAt = assessedAt
    self.checks = checks
    self.exceptionsSource = exceptionsSource
    self.exceptionsSHA256 = exceptionsSHA256
    self.exceptionsContent = exceptionsContent
    self.staleExceptions = staleExceptions
  }
}

/// An open (fail or excepted) result of a snapshot as a trend follows it: its identity across
/// snapshots, check, status and the columns that name its subject.
public struct OpenResult: Sendable, Hashable {
  /// ``CheckResult/findingKey``.
  public var findingKey: String
  public var checkID: String
  public var status: ResultStatus
  public var principalType: String?
  public var principalName: String?
  public var policyName: String?
  public var policyARN: String?
  public var policyVersion: String?

  public init(
    findingKey: String, checkID: String, status: ResultStatus, principalType: String? = nil, principalName: String? = nil,
    policyName: String? = nil, policyARN: String? = nil, policyVersion: String? = nil
  ) {
    self.findingKey = findingKey
    self.checkID = checkID
    self.status = status
    self.principalType = principalType
    self.principalName = principalName
    self.policyName = policyName
    self.policyARN = policyARN
    self.policyVersion = policyVersion
  }
}

extension OpenResult {
  /// ``CheckResult/findingIdentity``: the finding key without a managed policy's version.
  public var findingIdentity: String {
    CheckResult.findingIdentity(key: findingKey, policyVersion: policyARN == nil ? nil : policyVersion)
  }
}
