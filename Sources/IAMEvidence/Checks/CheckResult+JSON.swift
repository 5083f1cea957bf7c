extension CheckResult {
  /// The `findings --format json` object, also the stored form of a result.
  public func jsonValue(snapshot: Int) -> JSONValue {
    func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    func ints(_ a: [Int]) -> JSONValue { .array(a.map { .number(String($0)) }) }
    func principals(_ list: [PrincipalRef]) -> JSONValue {
      .array(
        list.map {
          .object([("arn", .string($0.arn)), ("id", .string($0.id)), ("name", .string($0.name)), ("type", .string($0.type.rawValue))])
        })
    }
    // Members are listed in canonical (UTF-8 byte) order, so writing them needs no sorting.
    return .object([
      ("attached_to", principals(attachedTo)),
      ("check", .string(checkID)),
      ("check_version", .number(String(checkVersion))),
      ("document_sha256", str(policy?.documentSHA256)),
      (
        "exception",
        exception.map { .object([("approved_by", .string($0.approvedBy)), ("expires_on", .string($0.expiresOn)), ("id", .string($0.id))]) }
          ?? .null
      ),
      ("finding_key", .string(findingKey)),
      ("inherited_by", principals(inheritedBy)),
      (
        "notes",
        .array(
          notes.map {
            .object([
              ("code", .string($0.code)), ("detail", str($0.detail)), ("message", .string($0.message)), ("statements", ints($0.statements)),
            ])
          })
      ),
      ("offending_statements", .array(offendingStatements)),
      ("policy_arn", str(policy?.arn)),
      ("policy_kind", str(policy?.kind.rawValue)),
      ("policy_name", str(policy?.name)),
      ("policy_version", str(policy?.versionID)),
      ("principal_arn", str(principal?.arn)),
      ("principal_id", str(principal?.id)),
      ("principal_name", str(principal?.name)),
      ("principal_type", str(principal?.type.rawValue)),
      ("reasons", .array(reasons.map(JSONValue.string))),
      ("remediation", .array(remediation.map(JSONValue.string))),
      ("snapshot", .number(String(snapshot))),
      (
        "sources",
        .array(
          sources.map {
            .object([
              ("kind", .string($0.kind)), ("label", .string($0.label)), ("policy_arn", str($0.policyARN)),
              ("policy_name", .string($0.policyName)), ("via_group", str($0.viaGroup)),
            ])
          })
      ),
      ("statements", ints(statements)),
      ("status", .string(status.rawValue)),
      ("why", .string(why)),
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
