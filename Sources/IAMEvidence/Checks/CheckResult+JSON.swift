extension CheckResult {
  /// The `findings --format json` object, also the stored form of a result.
  public func jsonValue(snapshot: Int) -> JSONValue {
    func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    func ints(_ a: [Int]) -> JSONValue { .array(a.map { .number(String($0)) }) }
    func principals(_ list: [PrincipalRef]) -> JSONValue {
      .array(
        list.map {
          .object([("type", .string($0.type.rawValue)), ("name", .string($0.name)), ("arn", .string($0.arn)), ("id", .string($0.id))])
        })
    }
    return .object([
      ("snapshot", .number(String(snapshot))),
      ("check", .string(checkID)),
      ("check_version", .number(String(checkVersion))),
      ("status", .string(status.rawValue)),
      ("finding_key", .string(findingKey)),
      ("principal_type", str(principal?.type.rawValue)),
      ("principal_name", str(principal?.name)),
      ("principal_arn", str(principal?.arn)),
      ("principal_id", str(principal?.id)),
      ("policy_kind", str(policy?.kind.rawValue)),
      ("policy_name", str(policy?.name)),
      ("policy_arn", str(policy?.arn)),
      ("policy_version", str(policy?.versionID)),
      ("document_sha256", str(policy?.documentSHA256)),
      ("statements", ints(statements)),
      ("offending_statements", .array(offendingStatements)),
      ("reasons", .array(reasons.map(JSONValue.string))),
      (
        "notes",
        .array(
          notes.map {
            .object([
              ("code", .string($0.code)), ("message", .string($0.message)), ("statements", ints($0.statements)), ("detail", str($0.detail)),
            ])
          })
      ),
      ("why", .string(why)),
      (
        "exception",
        exception.map { .object([("id", .string($0.id)), ("approved_by", .string($0.approvedBy)), ("expires_on", .string($0.expiresOn))]) }
          ?? .null
      ),
      ("attached_to", principals(attachedTo)),
      ("inherited_by", principals(inheritedBy)),
      (
        "sources",
        .array(
          sources.map {
            .object([
              ("kind", .string($0.kind)), ("policy_name", .string($0.policyName)), ("policy_arn", str($0.policyARN)),
              ("via_group", str($0.viaGroup)), ("label", .string($0.label)),
            ])
          })
      ),
      ("remediation", .array(remediation.map(JSONValue.string))),
    ])
  }

  /// The stored form: the findings object without the snapshot id, so that an unchanged result of
  /// many snapshots is one row.
  public var storedJSON: JSONValue {
    guard case .object(let members) = jsonValue(snapshot: 0) else { return .null }
    return .object(members.filter { $0.key != "snapshot" })
  }

  /// Reads back a stored result.
  public init?(json: JSONValue) {
    func s(_ v: JSONValue?) -> String? { v?.stringValue }
    func ints(_ v: JSONValue?) -> [Int] { (v?.arrayValue ?? []).compactMap { if case .number(let n) = $0 { Int(n) } else { nil } } }
    func principals(_ v: JSONValue?) -> [PrincipalRef] {
      (v?.arrayValue ?? []).compactMap {
        guard let t = s($0["type"]).flatMap(PrincipalType.init(rawValue:)), let name = s($0["name"]), let arn = s($0["arn"]) else {
          return nil
        }
        return PrincipalRef(type: t, id: s($0["id"]) ?? "", name: name, arn: arn)
      }
    }
    guard let check = s(json["check"]), let status = s(json["status"]).flatMap(ResultStatus.init(rawValue:)),
      case .number(let version)? = json["check_version"], let v = Int(version)
    else { return nil }
    var principal: PrincipalRef?
    if let t = s(json["principal_type"]).flatMap(PrincipalType.init(rawValue:)) {
      principal = PrincipalRef(
        type: t, id: s(json["principal_id"]) ?? "", name: s(json["principal_name"]) ?? "", arn: s(json["principal_arn"]) ?? "")
    }
    var policy: PolicyRef?
    if let kind = s(json["policy_kind"]).flatMap(PolicyKind.init(rawValue:)) {
      policy = PolicyRef(
        kind: kind, name: s(json["policy_name"]) ?? "", arn: s(json["policy_arn"]), versionID: s(json["policy_version"]),
        documentSHA256: s(json["document_sha256"]) ?? "")
    }
    var exception: AppliedException?
    if let e = json["exception"], let id = s(e["id"]) {
      exception = AppliedException(id: id, approvedBy: s(e["approved_by"]) ?? "", expiresOn: s(e["expires_on"]) ?? "")
    }
    self.init(
      checkID: check, checkVersion: v, status: status, principal: principal, policy: policy, statements: ints(json["statements"]),
      offendingStatements: json["offending_statements"]?.arrayValue ?? [],
      reasons: (json["reasons"]?.arrayValue ?? []).compactMap(\.stringValue),
      notes: (json["notes"]?.arrayValue ?? []).map {
        ResultNote(code: s($0["code"]) ?? "", message: s($0["message"]) ?? "", statements: ints($0["statements"]), detail: s($0["detail"]))
      },
      why: s(json["why"]) ?? "", exception: exception, attachedTo: principals(json["attached_to"]),
      inheritedBy: principals(json["inherited_by"]),
      sources: (json["sources"]?.arrayValue ?? []).map {
        GrantSource(
          kind: s($0["kind"]) ?? "", policyName: s($0["policy_name"]) ?? "", policyARN: s($0["policy_arn"]), viaGroup: s($0["via_group"]))
      },
      remediation: (json["remediation"]?.arrayValue ?? []).compactMap(\.stringValue))
  }
}
