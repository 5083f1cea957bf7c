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
    func grantList(_ list: [GrantSource]) -> JSONValue {
      .array(
        list.map {
          .object([
            ("kind", .string($0.kind)), ("label", .string($0.label)), ("policy_arn", str($0.policyARN)),
            ("policy_name", .string($0.policyName)), ("via_group", str($0.viaGroup)),
          ])
        })
    }
    func applied(_ e: AppliedException) -> JSONValue {
      .object([("approved_by", .string(e.approvedBy)), ("expires_on", .string(e.expiresOn)), ("id", .string(e.id))])
    }
    // Members are listed in canonical (UTF-8 byte) order, so writing them needs no sorting. Members
    // written only when not empty keep every other stored result's bytes (and content address).
    var members: [(key: String, value: JSONValue)] = [("attached_to", principals(attachedTo))]
    if !boundaryOf.isEmpty { members.append(("boundary_of", principals(boundaryOf))) }
    members += [
      ("check", .string(checkID)),
      ("check_version", .number(String(checkVersion))),
    ]
    if !coveringExceptions.isEmpty {
      members.append(
        (
          "covering_exceptions",
          .array(
            coveringExceptions.map {
              .object([("exception", applied($0.exception)), ("source", grantList([$0.source]).arrayValue![0])])
            })
        ))
    }
    members += [
      ("document_sha256", str(policy?.documentSHA256)),
      (
        "exception",
        exception.map { .object([("approved_by", .string($0.approvedBy)), ("expires_on", .string($0.expiresOn)), ("id", .string($0.id))]) }
          ?? .null
      ),
      ("finding_key", .string(findingKey)),
      ("inherited_by", principals(inheritedBy)),
    ]
    // Escalation results only: absent otherwise, so that every other stored result keeps its bytes
    // (and its content address).
    if !methodSources.isEmpty {
      members.append(
        ("method_sources", .array(methodSources.map { .object([("method", .string($0.method)), ("sources", grantList($0.sources))]) })))
    }
    if !methods.isEmpty { members.append(("methods", .array(methods.map(JSONValue.string)))) }
    members += [
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
      ("sources", grantList(sources)),
      ("statements", ints(statements)),
      ("status", .string(status.rawValue)),
      ("why", .string(why)),
    ]
    return .object(members)
  }

  /// The stored form: the findings object without the snapshot id, so that an unchanged result of
  /// many snapshots is one row.
  public var storedJSON: JSONValue {
    guard case .object(let members) = jsonValue(snapshot: 0) else { return .null }
    return .object(members.filter { $0.key != "snapshot" })
  }

  /// The canonical bytes of ``storedJSON``, written straight from the result (no tree): a snapshot
  /// stores tens of thousands of results. A test keeps the two byte-identical.
  public var storedCanonicalBytes: [UInt8] { storedCanonicalBytes(findingKey: findingKey) }

  /// ``storedCanonicalBytes`` given the result's ``findingKey`` (computed once by a caller that
  /// needs it too).
  func storedCanonicalBytes(findingKey: String) -> [UInt8] {
    var w = CanonicalObjectWriter()
    func principals(_ w: inout CanonicalObjectWriter, _ list: [PrincipalRef]) {
      w.array(list) { w, p in
        w.object {
          $0.member("arn", p.arn)
          $0.member("id", p.id)
          $0.member("name", p.name)
          $0.member("type", p.type.rawValue)
        }
      }
    }
    func grantSources(_ w: inout CanonicalObjectWriter, _ list: [GrantSource], single: Bool = false) {
      func one(_ w: inout CanonicalObjectWriter, _ g: GrantSource) {
        w.object {
          $0.member("kind", g.kind)
          $0.member("label", g.label)
          $0.member("policy_arn", g.policyARN)
          $0.member("policy_name", g.policyName)
          $0.member("via_group", g.viaGroup)
        }
      }
      if single, let g = list.first {
        one(&w, g)
      } else {
        w.array(list) { w, g in one(&w, g) }
      }
    }
    w.object { w in
      w.key("attached_to")
      principals(&w, attachedTo)
      if !boundaryOf.isEmpty {
        w.key("boundary_of")
        principals(&w, boundaryOf)
      }
      w.member("check", checkID)
      w.member("check_version", checkVersion)
      if !coveringExceptions.isEmpty {
        w.key("covering_exceptions")
        w.array(coveringExceptions) { w, c in
          w.object {
            $0.key("exception")
            $0.object {
              $0.member("approved_by", c.exception.approvedBy)
              $0.member("expires_on", c.exception.expiresOn)
              $0.member("id", c.exception.id)
            }
            $0.key("source")
            grantSources(&$0, [c.source], single: true)
          }
        }
      }
      w.member("document_sha256", policy?.documentSHA256)
      w.key("exception")
      if let exception {
        w.object {
          $0.member("approved_by", exception.approvedBy)
          $0.member("expires_on", exception.expiresOn)
          $0.member("id", exception.id)
        }
      } else {
        w.null()
      }
      w.member("finding_key", findingKey)
      w.key("inherited_by")
      principals(&w, inheritedBy)
      if !methodSources.isEmpty {
        w.key("method_sources")
        w.array(methodSources) { w, m in
          w.object {
            $0.member("method", m.method)
            $0.key("sources")
            grantSources(&$0, m.sources)
          }
        }
      }
      if !methods.isEmpty {
        w.key("methods")
        w.array(methods) { w, m in w.string(m) }
      }
      w.key("notes")
      w.array(notes) { w, n in
        w.object {
          $0.member("code", n.code)
          $0.member("detail", n.detail)
          $0.member("message", n.message)
          $0.member("statements", n.statements)
        }
      }
      w.key("offending_statements")
      w.array(offendingStatements) { w, v in w.value(v) }
      w.member("policy_arn", policy?.arn)
      w.member("policy_kind", policy?.kind.rawValue)
      w.member("policy_name", policy?.name)
      w.member("policy_version", policy?.versionID)
      w.member("principal_arn", principal?.arn)
      w.member("principal_id", principal?.id)
      w.member("principal_name", principal?.name)
      w.member("principal_type", principal?.type.rawValue)
      w.key("reasons")
      w.array(reasons) { w, r in w.string(r) }
      w.key("remediation")
      w.array(remediation) { w, r in w.string(r) }
      w.key("sources")
      grantSources(&w, sources)
      w.member("statements", statements)
      w.member("status", status.rawValue)
      w.member("why", why)
    }
    return w.out
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
    func grantSources(_ v: JSONValue?) -> [GrantSource] {
      (v?.arrayValue ?? []).map {
        GrantSource(
          kind: s($0["kind"]) ?? "", policyName: s($0["policy_name"]) ?? "", policyARN: s($0["policy_arn"]), viaGroup: s($0["via_group"]))
      }
    }
    func applied(_ e: JSONValue?) -> AppliedException? {
      guard let e, let id = s(e["id"]) else { return nil }
      return AppliedException(id: id, approvedBy: s(e["approved_by"]) ?? "", expiresOn: s(e["expires_on"]) ?? "")
    }
    let exception = applied(json["exception"])
    self.init(
      checkID: check, checkVersion: v, status: status, principal: principal, policy: policy, statements: ints(json["statements"]),
      offendingStatements: json["offending_statements"]?.arrayValue ?? [],
      reasons: (json["reasons"]?.arrayValue ?? []).compactMap(\.stringValue),
      notes: (json["notes"]?.arrayValue ?? []).map {
        ResultNote(code: s($0["code"]) ?? "", message: s($0["message"]) ?? "", statements: ints($0["statements"]), detail: s($0["detail"]))
      },
      why: s(json["why"]) ?? "", exception: exception, attachedTo: principals(json["attached_to"]),
      inheritedBy: principals(json["inherited_by"]),
      sources: grantSources(json["sources"]), remediation: (json["remediation"]?.arrayValue ?? []).compactMap(\.stringValue),
      methods: (json["methods"]?.arrayValue ?? []).compactMap(\.stringValue),
      methodSources: (json["method_sources"]?.arrayValue ?? []).compactMap { m in
        s(m["method"]).map { MethodSources(method: $0, sources: grantSources(m["sources"])) }
      })
    coveringExceptions = (json["covering_exceptions"]?.arrayValue ?? []).compactMap { c in
      guard let e = applied(c["exception"]), let source = c["source"] else { return nil }
      return grantSources(.array([source])).first.map { SourceException(source: $0, exception: e) }
    }
    boundaryOf = principals(json["boundary_of"])
  }
}

/// Writes canonical JSON directly; the caller gives object members in canonical (UTF-8 byte) order.
struct CanonicalObjectWriter {
  var out: [UInt8] = []
  /// Per open object or array, a bit: whether an element was written in it yet (the lowest bit is
  /// the innermost; 64 levels are far more than a result nests).
  private var started: UInt64 = 0
  private var depth = 0

  init() { out.reserveCapacity(1024) }

  private mutating func separate() {
    guard depth > 0 else { return }
    if started & 1 != 0 { out.append(UInt8(ascii: ",")) }
    started |= 1
  }

  mutating func key(_ name: StaticString) {
    separate()
    out.append(UInt8(ascii: "\""))
    out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    out.append(UInt8(ascii: "\""))
    out.append(UInt8(ascii: ":"))
    valuePending = true
  }

  /// Set between a key and its value, so the value does not write a separator.
  private var valuePending = false

  private mutating func beginValue() {
    if valuePending {
      valuePending = false
    } else {
      separate()
    }
  }

  private mutating func push() {
    precondition(depth < 64, "canonical JSON nested deeper than 64 levels")
    started <<= 1
    depth += 1
  }

  private mutating func pop() {
    started >>= 1
    depth -= 1
  }

  mutating func null() {
    beginValue()
    out.append(contentsOf: "null".utf8)
  }

  mutating func string(_ s: String) {
    beginValue()
    JSONWriter.writeString(s, into: &out)
  }

  mutating func value(_ v: JSONValue) {
    beginValue()
    JSONWriter.writeCanonical(v, into: &out)
  }

  mutating func object(_ body: (inout CanonicalObjectWriter) -> Void) {
    beginValue()
    out.append(UInt8(ascii: "{"))
    push()
    body(&self)
    pop()
    out.append(UInt8(ascii: "}"))
  }

  mutating func array<T>(_ items: [T], _ element: (inout CanonicalObjectWriter, T) -> Void) {
    beginValue()
    out.append(UInt8(ascii: "["))
    push()
    for item in items { element(&self, item) }
    pop()
    out.append(UInt8(ascii: "]"))
  }

  mutating func member(_ name: StaticString, _ s: String?) {
    key(name)
    if let s { string(s) } else { null() }
  }

  mutating func member(_ name: StaticString, _ i: Int) {
    key(name)
    beginValue()
    out.append(contentsOf: String(i).utf8)
  }

  mutating func member(_ name: StaticString, _ list: [Int]) {
    key(name)
    array(list) { w, i in
      w.beginValue()
      w.out.append(contentsOf: String(i).utf8)
    }
  }
}
