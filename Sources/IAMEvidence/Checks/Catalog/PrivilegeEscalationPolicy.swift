/// `privilege-escalation-policy` — policies that, on their own, let whoever holds them give themselves
/// more permissions.
///
/// Every inline policy of every user, group and role, and the default version of every
/// customer-managed policy, is judged on its own against the escalation methods
/// (``EscalationMethodCatalog``, `Resources/escalation-methods.json`): it fails when one method is
/// available from this policy alone — every action of the method allowed on all resources by its
/// Allow statements (together), none denied unconditionally on all resources by its own Deny
/// statements; conditions are noted, not narrowing. The result lists the methods (`methods`, sorted)
/// and quotes the statements that allow them. As in the KMS and administrator checks, a
/// customer-managed policy's non-default version that would fail is noted `latent-version`, one that
/// fails while attached to nothing `unattached`. Methods assembled from several policies are what
/// ``PrivilegeEscalationIdentity`` finds.
///
/// Self-escalation (version 3, ``SelfEscalation``'s matching): the policy also fails when, from its
/// own statements alone, a method is available to an identity that holds it on the one ARN that makes
/// the method an escalation for that identity (an inline policy: its user or role, or each member of
/// its group; a customer-managed policy: each user and role it is attached to, directly or through a
/// group); iam:CreatePolicyVersion on the policy's own ARN counts for any holder, attached or not.
public struct PrivilegeEscalationPolicy: Check {
  public init() {}

  public let description = CheckDescription(
    id: "privilege-escalation-policy",
    version: 3,
    title: "No policy on its own makes a privilege-escalation method available",
    controls: ["A.8.2", "A.5.18"],
    rationale: """
      Some permissions are privileged whatever else a policy says: with iam:CreatePolicyVersion, \
      iam:AttachUserPolicy or iam:PassRole with ec2:RunInstances, an identity can make itself an \
      administrator or act as a more privileged role. A policy that grants such a method hands \
      privileged access to everyone it is attached to, outside the allocation and review that \
      privileged access rights need (ISO/IEC 27001:2022 A.8.2), and makes the recorded access rights \
      (A.5.18) meaningless.
      """,
    remediation: """
      Remove the listed actions from the policy, or restrict them to the specific resources they are \
      needed on (named roles for iam:PassRole, named functions, users or policies, none of them the \
      holder's own user or role, its groups or its attached policies, nor user/${aws:username}); \
      where an identity must hold them, record the approval in the exceptions register.
      """,
    methodology: [
      "Population: every inline policy of every user, group and role, and every customer-managed policy (its default version), each judged on its own document.",
      "Escalation methods: the catalog shipped with the tool (Resources/escalation-methods.json), \(EscalationMethodCatalog.bundled.sourceDescription); each an id and a set of actions: "
        + EscalationMethodCatalog.bundled.methods.map { "\($0.id) (\($0.actions.joined(separator: ", ")))" }.joined(separator: "; ") + ".",
      "A method is available from a policy when every one of its actions is allowed on all resources by the policy's Allow statements (they add up; the action and resource rules of admin-access-inline) and none is denied unconditionally on all resources by its Deny statements. Conditions do not narrow a grant (noted \"conditional\"); a Deny with a Condition is not credited (noted \"conditional-deny\").",
      "A method one of whose actions is denied unconditionally on all resources is not available, and the Deny is noted \"neutralised-by-deny\": the policy passes when every method its Allow statements would give is broken that way, and otherwise still fails on the methods that remain.",
      "The policy fails when at least one method is available; the result lists them (methods, sorted) and quotes the statements that allow their actions.",
      "A customer-managed policy used as a permissions boundary is noted \"permissions-boundary\" with the identities it bounds; a failing customer-managed policy attached to nothing is noted \"unattached\"; any non-default version that would fail is noted \"latent-version\". A policy without a default version, or whose document is invalid, has status \"error\".",
      "Version 2: a policy whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) has status \"error\", noted \"default-version-inconsistent\" with the disagreement: the version in force is unknown (version 1 judged the version DefaultVersionId names).",
      "Self-escalation (version 3): a method not available on all resources is also available from the policy when, by its own statements alone (no other policy, no permissions boundary), its action is allowed on the ARN that makes it an escalation for an identity that holds the policy, and not denied there, by the matching of privilege-escalation-identity (${aws:username} is that user's name and has no value for a role; another variable reaches as far as * in an Allow and matches nothing in a Deny). The holders: the user or role of an inline policy, each user member of a group with the inline policy (the group's ARN is its members' target for iam:PutGroupPolicy and iam:AttachGroupPolicy), each user and role a customer-managed policy is attached to and each user member of a group it is attached to. The targets are those of privilege-escalation-identity for each holder: its own ARN, the ARNs of its groups, the customer-managed policies attached to it; iam:CreatePolicyVersion on the policy's own ARN counts for any holder, and for a policy no user or role holds (attached to nothing, noted \"unattached\", or to groups without members) it is judged for any holder (${aws:username} unknown); the other methods need a holder. The why names each method with where and for whom (iam-put-user-policy (iam:PutUserPolicy on the own ARN of user dev: Statement[0]); three places per method, then how many more); a grant a Deny of the policy cancels there is noted \"neutralised-by-deny\".",
    ],
    population: "Inline policies and customer-managed policies (default version)",
    triggering: [
      CheckExample(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#
      ),
      CheckExample(#"{"Statement":{"Effect":"Allow","Action":"IAM:Put*Policy","Resource":"*"}}"#, placement: .inlineOnRole),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
        notes: ["conditional"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, notes: ["unattached"], placement: .managedUnattached),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"], placement: .inlineOnGroup),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"glue:UpdateDevEndpoint","Resource":"*"},{"Effect":"Deny","Action":"glue:*","Resource":"*","Condition":{"Bool":{"aws:ViaAWSService":"false"}}}]}"#,
        notes: ["conditional-deny"]),
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:AttachGroupPolicy","Resource":"arn:aws:iam::123456789012:group/example-group"}]}"#,
        placement: .inlineOnGroup),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"arn:aws:iam::123456789012:policy/example"}]}"#,
        notes: ["unattached"], placement: .managedUnattached),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"arn:aws:iam::123456789012:policy/app-*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"iam:UpdateAssumeRolePolicy","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","ec2:Describe*"],"Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::123456789012:user/ops"}]}"#),
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PutRolePolicy","Resource":"arn:aws:iam::*:role/${aws:username}"}]}"#,
        placement: .inlineOnRole),
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::*:user/${aws:username}"},{"Effect":"Deny","Action":"iam:*","Resource":"arn:aws:iam::123456789012:user/example-user"}]}"#,
        notes: ["neutralised-by-deny"]),
    ],
    examplePlacement: .inlineOnUser,
    target: EscalationMethodCatalog.bundled.target,
    quotes: .allowingAllOfSome(EscalationMethodCatalog.bundled.methods.map(\.target), matching: .actions(SelfEscalation.actions))
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    let support = EscalationSupport(context)
    let holders = Holders(context)
    var results: [CheckResult] = []
    for principal in context.snapshot.principals {
      for policy in principal.inlinePolicies {
        var (result, ownGrants) = judge(
          context, support, document: policy.document, principal: PrincipalRef(principal),
          policy: PolicyRef(kind: .inline, name: policy.name, documentSHA256: policy.document.sha256),
          source: GrantSource(kind: "inline", policyName: policy.name),
          holders: principal.type == .group ? holders.members(of: principal) : [principal], ownARN: nil)
        if principal.type == .group { result.inheritedBy = context.members(of: principal) }
        if result.status == .fail {
          result.remediation = CheckSupport.remediationForInline(
            principal, policyName: policy.name,
            replacement: Self.replacement(selfEscalation: ownGrants))
        }
        results.append(result)
      }
    }
    for policy in context.snapshot.managedPolicies where !policy.isAWSManaged {
      let attachedTo = context.attachments(of: policy.arn)
      guard let version = policy.defaultVersion else {
        var result = CheckSupport.noDefaultVersion(check: description, policy: policy, attachedTo: attachedTo)
        CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
        results.append(result)
        continue
      }
      var (result, ownGrants) = judge(
        context, support, document: version.document, principal: nil,
        policy: PolicyRef(
          kind: .managed, name: policy.name, arn: policy.arn, versionID: version.versionId, documentSHA256: version.document.sha256),
        source: GrantSource(kind: "managed", policyName: policy.name, policyARN: policy.arn),
        holders: holders.of(attachedTo), ownARN: policy.arn)
      result.attachedTo = attachedTo
      CheckSupport.markBoundaryUse(&result, arn: policy.arn, context: context)
      if result.status == .fail && attachedTo.isEmpty {
        result.notes.append(
          ResultNote(code: "unattached", message: "Attached to no user, group or role in this snapshot; one attach call makes it live."))
      }
      for other in policy.versions where other.versionId != version.versionId {
        let analysis = context.analysis(of: other.document)
        let general = available(context, support, analysis)
        let own = selfGrants(
          context, analysis, holders: holders.of(attachedTo), ownARN: policy.arn, skip: Set(general.map(\.method.id))
        ).filter(\.isAvailable)
        let latent = Set(general.map(\.method.id) + own.map(\.method))
        if !latent.isEmpty {
          result.notes.append(
            ResultNote(
              code: "latent-version",
              message:
                "Non-default version \(other.versionId) makes \(latent.sorted().joined(separator: ", ")) available; aws iam set-default-policy-version would make it live. Delete it: aws iam delete-policy-version --policy-arn \(CheckSupport.shell(policy.arn)) --version-id \(CheckSupport.shell(other.versionId))"
            ))
        }
      }
      if result.status == .fail {
        result.remediation = CheckSupport.remediationForManaged(
          policy, attachedTo: attachedTo,
          replacement: Self.replacement(selfEscalation: ownGrants))
      }
      results.append(result)
    }
    return results
  }

  /// The methods one document makes available on its own.
  private func available(_ context: CheckContext, _ support: EscalationSupport, _ analysis: PolicyAnalysis)
    -> [(method: EscalationMethod, result: CapabilityResult)]
  {
    guard analysis.isValid else { return [] }
    return support.evaluate(context.engine, IdentityPolicies(document: analysis)).filter { $0.result.verdict == .can }
  }

  private func judge(
    _ context: CheckContext, _ support: EscalationSupport, document: PolicyDocumentText, principal: PrincipalRef?, policy: PolicyRef,
    source: GrantSource, holders: [Principal], ownARN: String?
  ) -> (result: CheckResult, selfEscalation: Bool) {
    let analysis = context.analysis(of: document)
    guard analysis.isValid else {
      let first = analysis.errors.first.map(\.description) ?? "unknown problem"
      let more = analysis.errors.count > 1 ? " (and \(analysis.errors.count - 1) more)" : ""
      let result = CheckResult(
        checkID: description.id, checkVersion: description.version, status: .error, principal: principal, policy: policy,
        notes: analysis.errors.map(CheckSupport.grammarNote),
        why: "The policy document is invalid and cannot be judged: \(first)\(more).")
      return (result, false)
    }
    let evaluated = support.evaluate(context.engine, IdentityPolicies(document: analysis))
    let available = evaluated.filter { $0.result.verdict == .can }
    // Self-escalation: the methods not available on all resources, asked on the one ARN that makes
    // each an escalation for a holder of this policy, from this policy alone.
    let grants = selfGrants(context, analysis, holders: holders, ownARN: ownARN, skip: Set(available.map(\.method.id)))
    let own = grants.filter(\.isAvailable)
    // A grant a Deny cancels is explained by the general notes when its method's actions are all
    // allowed on all resources (the Deny is one on all resources): not said twice.
    let explained = Set(evaluated.map(\.method.id))
    let cancelled = grants.filter { !$0.isAvailable && !explained.contains($0.method) }
    var notes = EscalationSupport.notes(evaluated)
    notes += selfNotes(own, cancelled, analysis, existing: notes)
    guard !available.isEmpty || !own.isEmpty else {
      let broken = evaluated.map(\.method.id).sorted()
      var why =
        broken.isEmpty
        ? "No escalation method has every action allowed on all resources by this policy."
        : "No escalation method is available: the actions of \(broken.count <= 3 ? broken.joined(separator: ", ") : "\(broken.count) methods") are all allowed on all resources, but Deny statements deny some of them unconditionally on all resources (see the notes)."
      if !cancelled.isEmpty {
        why +=
          " It allows an action on the ARN that makes a method an escalation for an identity that holds it, but denies it there unconditionally (see the notes)."
      }
      let result = CheckResult(
        checkID: description.id, checkVersion: description.version, status: .pass, principal: principal, policy: policy, notes: notes,
        why: why)
      return (result, false)
    }
    let indexes = Array(Set(available.flatMap { $0.result.actions.flatMap(\.allowedBy).map(\.statement) } + own.flatMap(\.allowedBy)))
      .sorted()
    let methods = Set(available.map(\.method.id) + own.map(\.method)).sorted()
    var sentences: [String] = []
    if !available.isEmpty {
      sentences.append(
        EscalationSupport.sentence(available) { row in
          row.allowedBy.count == 1
            ? "Statement[\(row.allowedBy[0].statement)]"
            : "Statements " + row.allowedBy.map { String($0.statement) }.joined(separator: ", ")
        })
    }
    if !own.isEmpty { sentences.append(selfSentence(own)) }
    let result = CheckResult(
      checkID: description.id, checkVersion: description.version, status: .fail, principal: principal, policy: policy,
      statements: indexes, offendingStatements: CheckSupport.statementJSON(document.json, indexes: indexes),
      reasons: EscalationSupport.reasons(available), notes: notes, why: sentences.joined(separator: " "),
      methods: methods, methodSources: methods.map { MethodSources(method: $0, sources: [source]) })
    return (result, !own.isEmpty)
  }

  /// What a failing policy should be replaced with: a self-escalation is a grant on specific
  /// resources already, so those must not be its holders' own.
  static func replacement(selfEscalation: Bool) -> String {
    let general = "a policy without the listed actions, or with them only on the specific resources needed"
    return selfEscalation ? general + " (never a holder's own user or role, its groups or its attached policies)" : general
  }

  /// One self-escalation grant of a policy: `action` allowed on `arn`, which makes `method` an
  /// escalation for each of `holders` (none: whoever holds the policy).
  struct SelfGrant {
    var method: String
    var action: String
    var arn: String
    /// The holders `arn` is the escalation target of, by label (`user dev`), sorted.
    var holders: [String]
    /// What `arn` is to them: `own`, `group`, `policy` (another attached policy) or `this policy`.
    var kind: Kind
    var allowedBy: [Int]
    var conditionalAllows: [Int]
    var deniedBy: [Int]
    var isAvailable: Bool { !allowedBy.isEmpty && deniedBy.isEmpty }

    enum Kind { case own, group, policy, thisPolicy }

    /// `iam:PutUserPolicy on the own ARN of user dev`.
    var place: String {
      let name = arn.split(separator: "/").last.map(String.init) ?? arn
      switch kind {
      case .own: return "\(action) on the own ARN of \(holders.first ?? "its holder")"
      case .group: return "\(action) on the ARN of group \(name), a group of \(Self.few(holders))"
      case .policy: return "\(action) on the ARN of policy \(name), attached to \(Self.few(holders))"
      case .thisPolicy:
        return "\(action) on the policy's own ARN, " + (holders.isEmpty ? "for any holder" : "held by \(Self.few(holders))")
      }
    }

    /// `a, b, c and 4 more`: three named, then how many more.
    static func few(_ names: [String]) -> String {
      guard names.count > 3 else {
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
      }
      return names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
    }
  }

  /// The self-escalation grants of one document for `holders` (the users and roles that hold it),
  /// judged from this document alone (no other source, no boundary), skipping the methods in `skip`;
  /// with `ownARN` (a customer-managed policy), iam:CreatePolicyVersion on it counts for any holder,
  /// and is asked for any holder (`aws:username` unknown) when no user or role holds the policy.
  func selfGrants(_ context: CheckContext, _ analysis: PolicyAnalysis, holders: [Principal], ownARN: String?, skip: Set<String>)
    -> [SelfGrant]
  {
    let catalog = context.engine.catalog
    guard analysis.isValid, SelfEscalation.actions.contains(where: { catalog.index(of: $0).map(analysis.matched.contains) ?? false })
    else { return [] }
    let policies = IdentityPolicies(document: analysis)
    var findings: [(holder: String?, kind: SelfGrant.Kind, finding: SelfEscalation.Finding)] = []
    for holder in holders {
      let targets = SelfEscalation.targets(holder, groupsByName: context.groupsByName, skip: skip)
      for f in SelfEscalation.evaluate(targets, policies, catalog: catalog, username: SelfEscalation.username(of: holder))
      where !f.allowedBy.isEmpty {
        let kind: SelfGrant.Kind =
          f.target.arn == ownARN
          ? .thisPolicy
          : f.target.method == SelfEscalation.policyMethod.0 ? .policy : f.target.arn == holder.arn ? .own : .group
        findings.append(("\(holder.type.rawValue) \(holder.name)", kind, f))
      }
    }
    if let ownARN, holders.isEmpty, !skip.contains(SelfEscalation.policyMethod.0) {
      let (m, a) = SelfEscalation.policyMethod
      let target = SelfEscalation.Target(method: m, action: a, arn: ownARN, place: "its own ARN")
      for f in SelfEscalation.evaluate([target], policies, catalog: catalog, username: .unknown) where !f.allowedBy.isEmpty {
        findings.append((nil, .thisPolicy, f))
      }
    }
    // One grant per method, ARN and outcome, with the holders it is one for.
    var grants: [String: SelfGrant] = [:]
    for (holder, kind, f) in findings {
      let key = "\(f.target.method) \(f.target.arn) \(f.isAvailable)"
      var g =
        grants[key]
        ?? SelfGrant(
          method: f.target.method, action: f.target.action, arn: f.target.arn, holders: [], kind: kind,
          allowedBy: f.allowedBy.map(\.statement), conditionalAllows: f.conditionalAllows.map(\.statement),
          deniedBy: f.deniedBy.map(\.statement))
      if let holder, !g.holders.contains(holder) { g.holders.append(holder) }
      // Holders may reach the ARN through different statements (`${aws:username}`): all are named.
      g.allowedBy = Array(Set(g.allowedBy + f.allowedBy.map(\.statement))).sorted()
      g.conditionalAllows = Array(Set(g.conditionalAllows + f.conditionalAllows.map(\.statement))).sorted()
      g.deniedBy = Array(Set(g.deniedBy + f.deniedBy.map(\.statement))).sorted()
      grants[key] = g
    }
    return grants.values.map { g in
      var g = g
      g.holders.sort()
      return g
    }.sorted { ($0.method, $0.arn, $0.isAvailable ? 0 : 1) < ($1.method, $1.arn, $1.isAvailable ? 0 : 1) }
  }

  /// `1 privilege-escalation method is available to an identity that holds this policy (...):
  /// iam-put-user-policy (iam:PutUserPolicy on the own ARN of user dev: Statement[0])`; three places
  /// named per method, then how many more.
  private func selfSentence(_ own: [SelfGrant]) -> String {
    let byMethod = Dictionary(grouping: own, by: \.method)
    let list = byMethod.keys.sorted().map { method in
      let places = byMethod[method]!.map { g in
        "\(g.place): "
          + (g.allowedBy.count == 1 ? "Statement[\(g.allowedBy[0])]" : "Statements " + g.allowedBy.map(String.init).joined(separator: ", "))
      }
      let shown =
        places.count > 3 ? places.prefix(3).joined(separator: "; ") + "; and \(places.count - 3) more" : places.joined(separator: "; ")
      return "\(method) (\(shown))"
    }
    let n = byMethod.count
    let conditional = own.contains { !$0.conditionalAllows.isEmpty && $0.conditionalAllows.count == $0.allowedBy.count }
    return EscalationSupport.availability(
      n,
      "to an identity that holds this policy (the action allowed on the ARN that makes it an escalation for that identity, not denied by this policy there)",
      list.joined(separator: ", "), conditional: conditional)
  }

  /// Notes on the self-escalation grants: the Conditions of available ones, and the grants a Deny of
  /// this policy cancels. Each once, and none already among `existing`.
  private func selfNotes(_ own: [SelfGrant], _ cancelled: [SelfGrant], _ analysis: PolicyAnalysis, existing: [ResultNote])
    -> [ResultNote]
  {
    var seen = Set(existing)
    var out: [ResultNote] = []
    func add(_ n: ResultNote) { if seen.insert(n).inserted { out.append(n) } }
    func label(_ statements: [Int]) -> String { statements.map { "Statement[\($0)]" }.joined(separator: ", ") }
    for g in own {
      for i in g.conditionalAllows {
        // As the engine words it for a grant on all resources (one note for both).
        let s = analysis.statement(i)
        add(
          ResultNote(
            code: "conditional",
            message: "Statement[\(i)] has a Condition (\(s?.conditionJSON ?? "{}")); conditions do not narrow the grant.",
            statements: [i], detail: s?.condition.map(JSONWriter.canonical)))
      }
    }
    for g in cancelled {
      add(
        ResultNote(
          code: "neutralised-by-deny",
          message:
            "\(label(g.allowedBy)) \(g.allowedBy.count == 1 ? "allows" : "allow") \(g.place), but \(label(g.deniedBy)) \(g.deniedBy.count == 1 ? "denies" : "deny") it unconditionally there: method \(g.method) is not available there from this policy.",
          statements: Array(Set(g.allowedBy + g.deniedBy)).sorted()))
    }
    return out
  }

  /// The users and roles that hold a policy: its owner, the members of a group, the identities a
  /// managed policy is attached to (directly or through a group).
  struct Holders {
    let context: CheckContext
    let byARN: [String: Principal]

    init(_ context: CheckContext) {
      self.context = context
      byARN = Dictionary(
        context.snapshot.principals.filter { $0.type != .group }.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The user members of `group`.
    func members(of group: Principal) -> [Principal] { context.members(of: group).compactMap { byARN[$0.arn] } }

    /// The users and roles among `attachedTo`, and the members of its groups, each once.
    func of(_ attachedTo: [PrincipalRef]) -> [Principal] {
      var seen = Set<String>()
      var out: [Principal] = []
      for ref in attachedTo {
        let found: [Principal] =
          ref.type == .group ? context.groupsByName[ref.name].map(members(of:)) ?? [] : byARN[ref.arn].map { [$0] } ?? []
        for p in found where seen.insert(p.arn).inserted { out.append(p) }
      }
      return out
    }
  }
}
