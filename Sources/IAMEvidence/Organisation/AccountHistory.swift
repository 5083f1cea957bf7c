/// Which accounts `trend --accounts` and `diff --accounts` cover: `all`, or a comma-separated list of
/// 12-digit ids.
public enum AccountSelection: Sendable, Hashable {
  /// Every account of the database, and every account of the scope file when one is given (an
  /// account in scope that was never exported is listed with its coverage gap).
  case all
  /// These accounts, in the order given.
  case ids([String])

  /// Parses `all` or `ID,ID...`; refuses an id that is not 12 ASCII digits, an empty item, and an id
  /// given twice.
  public init(parsing text: String) throws(WorkflowError) {
    if text == "all" {
      self = .all
      return
    }
    var ids: [String] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
      guard AccountID.isValid(item) else {
        throw WorkflowError(
          path: nil, message: "--accounts: \"\(item.prefix(40))\" is not a 12-digit AWS account id (give all, or ids separated by commas)")
      }
      guard !ids.contains(item) else { throw WorkflowError(path: nil, message: "--accounts: account \(item) is given twice") }
      ids.append(item)
    }
    self = .ids(ids)
  }

  /// The accounts selected, given those of the database and of the scope file: `all` is their union
  /// by id; a listed id must be in one of them.
  public func resolve(database: [String], scope: AccountScope?, path: String) throws(WorkflowError) -> [String] {
    let known = Set(database).union(scope?.accounts.map(\.id) ?? [])
    switch self {
    case .all:
      guard !known.isEmpty else { throw WorkflowError(path: path, message: "the database holds no snapshot yet") }
      return known.sorted()
    case .ids(let ids):
      for id in ids where !known.contains(id) {
        throw WorkflowError(
          path: path, message: "no snapshot of account \(id)" + (scope == nil ? "" : ", and the scope file does not list it"))
      }
      return ids
    }
  }
}

/// One account's trend in `trend --accounts`.
public struct AccountTrend: Sendable {
  public var account: String
  /// The scope file's name for it (nil: none).
  public var name: String?
  /// Listed in the scope file (true when no scope file is given).
  public var inScope: Bool
  public var report: TrendReport
}

/// `trend --accounts`: the trend of each account selected, over one period, with the same cadence.
public struct OrganisationTrend: Sendable {
  public var from: Timestamp?
  public var to: Timestamp?
  public var cadenceDays: Int
  /// In the order selected (`all`: by id).
  public var accounts: [AccountTrend]
}

extension OrganisationTrend {
  /// The `trend --accounts --format json` object: `accounts` (`account`, `name`, `in_scope`,
  /// `snapshots`), `cadence_days`, and every account's `rows`, `findings`, `gaps` and
  /// `version_changes` (as `trend` writes them for one account) in one list each, every item carrying
  /// its `account`.
  public var jsonValue: JSONValue {
    var lists: [String: [JSONValue]] = ["rows": [], "findings": [], "gaps": [], "version_changes": []]
    for a in accounts {
      for (key, value) in a.report.jsonValue.objectValue ?? [] {
        guard lists[key] != nil, let items = value.arrayValue else { continue }
        lists[key]! += items.map { Self.tagged($0, account: a.account) }
      }
    }
    return .object(
      [
        (
          "accounts",
          .array(
            accounts.map { a in
              .object([
                ("account", .string(a.account)), ("name", a.name.map(JSONValue.string) ?? .null), ("in_scope", .bool(a.inScope)),
                ("snapshots", .number(String(a.report.snapshots.count))),
              ])
            })
        ),
        ("cadence_days", .number(String(cadenceDays))),
      ] + ["rows", "findings", "gaps", "version_changes"].map { ($0, .array(lists[$0]!)) })
  }

  /// `object` with an `account` member first.
  static func tagged(_ object: JSONValue, account: String) -> JSONValue {
    .object([("account", .string(account))] + (object.objectValue ?? []))
  }

  /// `trend --accounts --format csv`: the rows of `trend --format csv` with the account and its name first.
  public var csv: String {
    CSV.table(
      header: ["account", "name", "snapshot", "captured_at", "check", "fail", "error", "excepted", "pass", "assessed", "version"],
      rows: accounts.flatMap { a in
        a.report.rows.map { r in
          [
            a.account, a.name ?? "", String(r.snapshotID), r.capturedAt.description, r.checkID, String(r.counts.fail),
            String(r.counts.error), String(r.counts.excepted), String(r.counts.pass), String(r.assessed),
            r.checkVersion.map(String.init) ?? "",
          ]
        }
      })
  }
}

/// One account's drift in `diff --accounts`: its first and last snapshot of the period compared.
public struct AccountDrift: Sendable {
  public var account: String
  public var name: String?
  public var inScope: Bool
  /// Its snapshots captured in the period, oldest first.
  public var snapshots: [SnapshotRecord]
  /// The drift from the first to the last of ``snapshots``; nil with fewer than two (nothing to compare).
  public var drift: DriftReport?

  /// `111122223333 (payments-prod)`, or the id alone.
  public var label: String { name.map { "\(account) (\($0))" } ?? account }
}

/// `diff --accounts`: for each account selected, the drift between its first and last snapshot
/// captured in the period (nil bounds: unbounded).
public struct OrganisationDrift: Sendable {
  public var from: Timestamp?
  public var to: Timestamp?
  /// In the order selected (`all`: by id).
  public var accounts: [AccountDrift]
}

extension OrganisationDrift {
  /// The `diff --accounts --format json` object: `from`, `to` (the period, null when unbounded) and
  /// `accounts`, one object per account with `account`, `name`, `in_scope`, `snapshots_in_period`,
  /// `from_snapshot`, `to_snapshot` and `drift` (the `diff --format json` object, each finding of
  /// which carries `account`; null when the account has fewer than two snapshots in the period).
  public var jsonValue: JSONValue {
    func t(_ x: Timestamp?) -> JSONValue { x.map { .string($0.description) } ?? .null }
    return .object([
      ("from", t(from)), ("to", t(to)),
      (
        "accounts",
        .array(
          accounts.map { a in
            .object([
              ("account", .string(a.account)), ("name", a.name.map(JSONValue.string) ?? .null), ("in_scope", .bool(a.inScope)),
              ("snapshots_in_period", .number(String(a.snapshots.count))),
              ("from_snapshot", a.drift.map { .number(String($0.from.id)) } ?? .null),
              ("to_snapshot", a.drift.map { .number(String($0.to.id)) } ?? .null),
              ("drift", a.drift.map { Self.taggingFindings($0.jsonValue, account: a.account) } ?? .null),
            ])
          })
      ),
    ])
  }

  /// The drift object with `account` added to every finding of its `findings` lists.
  static func taggingFindings(_ drift: JSONValue, account: String) -> JSONValue {
    .object(
      (drift.objectValue ?? []).map { member in
        guard member.key == "findings", let lists = member.value.objectValue else { return member }
        return (
          member.key,
          .object(lists.map { ($0.key, .array(($0.value.arrayValue ?? []).map { OrganisationTrend.tagged($0, account: account) })) })
        )
      })
  }

  /// `diff --accounts --format text`: each account's drift as `diff` prints it for one account, after
  /// a line naming the account; an account with fewer than two snapshots in the period says so (in
  /// scope with none: a coverage gap). Names are escaped (``TerminalText``).
  public var text: String {
    var out = ""
    for a in accounts {
      let label = TerminalText.escape(a.label)
      let n = a.snapshots.count
      out += "== account \(label): \(n) snapshot\(n == 1 ? "" : "s") in the period\(a.inScope ? "" : " (out of scope)")\n"
      if let d = a.drift {
        out += DriftText.render(d)
      } else if n == 1 {
        out += "nothing to compare: one snapshot (\(a.snapshots[0].id), \(a.snapshots[0].capturedAt))\n"
      } else {
        out += a.inScope ? "coverage GAP: in scope and no snapshot in the period\n" : "no snapshot in the period\n"
      }
    }
    return out
  }
}
