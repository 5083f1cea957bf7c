/// `privilege-escalation-identity` — users and roles that can give themselves more permissions.
///
/// Per user and role, everything that applies to it is put together (``IdentitySources``): its inline
/// policies, its attached managed policies (customer- or AWS-managed) and, for users, each group's
/// inline and attached policies. An escalation method (``EscalationMethodCatalog``) is available when
/// every one of its actions is allowed on all resources by some source — the sources add up, so
/// `iam:PassRole` from a group policy and `ec2:RunInstances` from an attached policy make
/// `passrole-ec2` available — within the permissions boundary, and none is denied unconditionally on
/// all resources by any source. A full administrator without Denies has every method. The result
/// lists the methods (`methods`, sorted) and, per method, the sources that make it available
/// (`method_sources`); it gives its principal the `escalation` capability of the privileged-access
/// register.
///
/// What the snapshot lacks is never guessed: an attached policy, a group or a permissions boundary
/// missing from the snapshot, or a source or boundary that is not a valid policy, makes the result
/// `error` unless a method is available from what is known (then it fails, noted).
///
/// Self-escalation (``SelfEscalation``): a method whose action is allowed only on the one ARN that
/// makes it an escalation for the identity itself (its own user or role, one of its groups, a
/// customer-managed policy attached to it) is available too: `iam:PutUserPolicy` on
/// `user/${aws:username}` lets each user write itself an administrator policy.
public struct PrivilegeEscalationIdentity: Check {
  public init() {}

  public let description = CheckDescription(
    id: "privilege-escalation-identity",
    version: 3,
    title: "No user or role can effectively use a privilege-escalation method",
    controls: ["A.8.2", "A.5.18"],
    rationale: """
      An identity that can use a privilege-escalation method holds privileged access whatever its \
      policies are meant to allow: it can make itself an administrator or act as a more privileged \
      role. The method is often assembled from several harmless-looking grants (iam:PassRole from a \
      group, ec2:RunInstances from an attached policy), so only the identity's effective permissions \
      show it. Such identities must be authorised and recorded like administrators (ISO/IEC \
      27001:2022 A.8.2); approved ones go in the exceptions register.
      """,
    remediation: """
      Remove or narrow the sources listed for each method (restrict iam:PassRole to the roles the \
      identity must pass, IAM write actions to the resources it manages), add a Deny, or set a \
      permissions boundary that does not allow the method's actions; where the identity is approved \
      to hold them, record the approval in the exceptions register.
      """,
    methodology: [
      "Population: every user and every role in the snapshot.",
      "Sources: the identity's inline policies; the default version of every managed policy attached to it, customer- or AWS-managed; for users, the inline and attached policies of each group it belongs to.",
      "Escalation methods: the catalog of privilege-escalation-policy (Resources/escalation-methods.json), \(EscalationMethodCatalog.bundled.sourceDescription).",
      "A method is available when every one of its actions is allowed on all resources by some source (Allow grants add up across sources and statements; the rules of admin-access-inline), within the permissions boundary (the actions the boundary itself allows on all resources, minus its own unconditional Denies), and none is denied unconditionally on all resources by any source. Conditions do not narrow a grant (noted \"conditional\"); a Deny with a Condition or on some resources only is not credited (noted). Actions the permissions boundary does not allow are noted \"outside-boundary\".",
      "A method one of whose actions is denied unconditionally on all resources by any source is not available, and the Deny is noted \"neutralised-by-deny\": the identity passes when every method its sources would give is broken that way, and otherwise still fails on the methods that remain.",
      "The identity fails when at least one method is available; the result lists the methods (methods, sorted) and, per method, the sources that allow its actions (method_sources). A full administrator without Denies has every method.",
      "An attached policy, a group or a permissions boundary missing from the snapshot is noted \"unknown-policy\", a source or boundary that is not a valid policy is noted too; either makes the status \"error\" unless a method is available from the known sources, in which case it fails.",
      "Self-escalation (version 3): a method not available on all resources is also available on the identity itself when its action is allowed on the ARN that makes it an escalation for that identity and not denied there: iam:PutUserPolicy or iam:AttachUserPolicy on the user's own ARN; iam:PutGroupPolicy or iam:AttachGroupPolicy on the ARN of a group the user belongs to; iam:PutRolePolicy or iam:AttachRolePolicy on the role's own ARN (no sts:AssumeRole needed); iam:CreatePolicyVersion on a customer-managed policy attached to the identity directly or through a group. A statement matches the ARN when its action matches and a Resource pattern matches it (case-sensitive glob), or no NotResource pattern does; ${aws:username} is the user's name, and has no value for a role (the pattern matches nothing unless it names a default); another variable reaches as far as * in an Allow and matches nothing in a Deny; in a document whose Version is not 2012-10-17 variables are literal text (a Deny pattern holding one matches no ARN). Allows add up across sources, conditions do not narrow them (noted \"conditional\"); a Deny is credited only without Condition and by Resource (noted \"neutralised-by-deny\"); a valid permissions boundary must allow the action on the ARN by the same matching (noted \"outside-boundary\"). The why names the action, the ARN and the sources (iam-put-user-policy (iam:PutUserPolicy on its own ARN arn:...: inline dev-self)).",
      "Version 2: an attached policy (directly or through a group) whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) is treated as a policy whose document is unknown, noted \"default-version-inconsistent\" with the disagreement (status \"error\" unless a method is available from the known sources); a permissions boundary whose flags disagree is noted so and makes the status \"error\" unless a method is available, like a boundary missing from the snapshot (version 1 judged the version DefaultVersionId names).",
    ],
    population: "Users and roles (effective permissions)",
    triggering: [
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#,
        placement: .managedAttachedToUserWithGroupInline(#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#)),
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, placement: .awsManagedAttachedToRole),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"iam:AddUserToGroup","Resource":"*"}]}"#, placement: .inlineOnGroup),
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#
      ),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["iam:AttachRolePolicy","sts:AssumeRole"],"Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#,
        notes: ["conditional"], placement: .inlineOnRole),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#, notes: ["outside-boundary"],
        placement: .managedAttachedToUserWithinBoundary(#"{"Statement":[{"Effect":"Allow","Action":"iam:Put*","Resource":"*"}]}"#)),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::123456789012:user/another-user"}]}"#),
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::*:user/${aws:username}"},{"Effect":"Deny","Action":"iam:PutUserPolicy","Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#,
        notes: ["neutralised-by-deny"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"},{"Effect":"Deny","Action":"ec2:RunInstances","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ec2:RunInstances"],"Resource":"*"}]}"#, notes: ["outside-boundary"],
        placement: .managedAttachedToUserWithinBoundary(#"{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#)),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/app-runner"}]}"#,
        placement: .managedAttachedToUserWithGroupInline(#"{"Statement":[{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#)),
    ],
    examplePlacement: .managedAttachedToUser,
    target: EscalationMethodCatalog.bundled.target,
    capability: "escalation",
    sourceChecks: ["privilege-escalation-policy"]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    let support = EscalationSupport(context)
    return context.snapshot.principals.filter { $0.type != .group }.map { identity(context, support, $0) }
  }

  private func identity(_ context: CheckContext, _ support: EscalationSupport, _ principal: Principal) -> CheckResult {
    let sources = context.identitySources(of: principal)
    let policies = context.identityPolicies(sources)
    let evaluated = support.evaluate(context.engine, policies)
    let available = evaluated.filter { $0.result.verdict == .can }
    // Self-escalation: the methods not available on all resources, asked on the one ARN that makes
    // each an escalation for this identity (its own, its groups', its attached policies').
    let found = SelfEscalation.evaluate(
      SelfEscalation.targets(principal, groupsByName: context.groupsByName, skip: Set(available.map(\.method.id))), policies,
      catalog: context.engine.catalog, username: SelfEscalation.username(of: principal))
    let own = found.filter(\.isAvailable)
    // The admin check's rule: whatever the snapshot lacks or cannot read keeps the identity from passing.
    var incomplete: [String] = sources.unknownPolicies.map(\.label) + sources.unknownGroups.map { "group \($0)" }
    if let b = sources.unknownBoundary { incomplete.append("permissions boundary \(b)") }
    incomplete += policies.sources.filter { !$0.analysis.isValid }.map(\.label)
    if let b = policies.boundary, !b.analysis.isValid { incomplete.append(b.label) }
    var notes = EscalationSupport.notes(evaluated, boundary: sources.boundary?.arn)
    var errors = evaluated.first?.result.errors ?? []
    if evaluated.isEmpty && !incomplete.isEmpty {
      // No method was asked about: the engine's notes on the missing and invalid sources come from one
      // question (they are the same for every method).
      let r = context.engine.canPerform(policies, actions: support.targets[0])
      notes += r.notes.map(CheckSupport.note)
      errors = r.errors
    }
    notes += errors.map(CheckSupport.grammarNote)
    notes += selfNotes(found, policies, boundary: sources.boundary?.arn, existing: notes, explained: Set(evaluated.map(\.method.id)))
    let missing =
      incomplete.isEmpty
      ? ""
      : " \(incomplete.joined(separator: ", ")) \(incomplete.count == 1 ? "is" : "are") missing from the snapshot, not a valid policy or of unknown default version."

    guard !available.isEmpty || !own.isEmpty else {
      let broken = evaluated.map(\.method.id).sorted()
      var why =
        broken.isEmpty
        ? "No escalation method has every action allowed on all resources by the identity's sources."
        : "No escalation method is available: the actions of \(broken.count <= 3 ? broken.joined(separator: ", ") : "\(broken.count) methods") are all allowed on all resources by its sources, but a Deny or the permissions boundary removes some of them (see the notes)."
      if !incomplete.isEmpty { why = "The identity cannot be shown to have no escalation method:\(missing) " + why }
      return CheckResult(
        checkID: description.id, checkVersion: description.version, status: incomplete.isEmpty ? .pass : .error,
        principal: PrincipalRef(principal), notes: notes, why: why)
    }
    var methodSources: [MethodSources] = []
    var used = Set<Int>()
    for a in available {
      methodSources.append(MethodSources(method: a.method.id, sources: sources.grantSources(a.result.sources)))
      used.formUnion(a.result.sources)
    }
    for method in Set(own.map(\.target.method)) {
      let ids = Set(own.filter { $0.target.method == method }.flatMap(\.sources)).sorted()
      methodSources.append(MethodSources(method: method, sources: sources.grantSources(ids)))
      used.formUnion(ids)
    }
    methodSources.sort { $0.method < $1.method }
    let grantSources = sources.grantSources(used.sorted())
    let noun = principal.type.rawValue
    var remediation = CheckSupport.remediationForSources(principal, grantSources)
    remediation.append(
      "Or set a permissions boundary that does not allow the methods' actions: aws iam put-\(noun)-permissions-boundary --\(noun)-name \(CheckSupport.shell(principal.name)) --permissions-boundary <policy-arn>"
    )
    var sentences: [String] = []
    if !available.isEmpty {
      sentences.append(
        EscalationSupport.sentence(available) { row in
          Array(Set(row.allowedBy.map(\.source))).sorted().map { sources.sources[$0].source.label }.joined(separator: ", ")
        })
    }
    if !own.isEmpty { sentences.append(selfSentence(own, sources)) }
    let why = sentences.joined(separator: " ") + missing
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: .fail, principal: PrincipalRef(principal),
      reasons: EscalationSupport.reasons(available), notes: notes, why: why, sources: grantSources, remediation: remediation,
      methods: methodSources.map(\.method), methodSources: methodSources)
  }

  /// `2 privilege-escalation methods are available on the identity itself (...): iam-put-user-policy
  /// (iam:PutUserPolicy on its own ARN arn:...: inline dev-self), ...`.
  private func selfSentence(_ own: [SelfEscalation.Finding], _ sources: IdentitySources) -> String {
    let methods = Set(own.map(\.target.method))
    let n = methods.count
    let list = own.sorted { ($0.target.method, $0.target.arn) < ($1.target.method, $1.target.arn) }.map { f in
      let by = f.sources.map { sources.sources[$0].source.label }.joined(separator: ", ")
      return "\(f.target.method) (\(f.target.action) on \(f.target.place) \(f.target.arn): \(by))"
    }
    let conditional = own.contains { !$0.conditionalAllows.isEmpty && $0.conditionalAllows.count == $0.allowedBy.count }
    return EscalationSupport.availability(
      n, "on the identity itself (the action allowed on the ARN that makes it an escalation for this identity, not denied there)",
      list.joined(separator: ", "), conditional: conditional)
  }

  /// Notes on the self-escalation grants: the conditions of available ones; the grants a Deny or the
  /// permissions boundary removes, unless their method is `explained` already (its actions allowed on
  /// all resources, the general notes say what removes them). Each once, and none already among `existing`.
  private func selfNotes(
    _ found: [SelfEscalation.Finding], _ policies: IdentityPolicies, boundary: String?, existing: [ResultNote], explained: Set<String>
  ) -> [ResultNote] {
    var seen = Set(existing)
    var out: [ResultNote] = []
    func add(_ n: ResultNote) { if seen.insert(n).inserted { out.append(n) } }
    func label(_ r: StatementRef) -> String { "\(policies.sources[r.source].label) Statement[\(r.statement)]" }
    for f in found where !f.allowedBy.isEmpty {
      let place = "\(f.target.action) on \(f.target.place) \(f.target.arn)"
      if f.isAvailable {
        for r in f.conditionalAllows {
          let json = policies.sources[r.source].analysis.statement(r.statement)?.conditionJSON ?? "{}"
          add(ResultNote(code: "conditional", message: "\(label(r)) has a Condition (\(json)); conditions do not narrow the grant."))
        }
      } else if explained.contains(f.target.method) {
        continue
      } else if !f.deniedBy.isEmpty {
        add(
          ResultNote(
            code: "neutralised-by-deny",
            message:
              "\(f.allowedBy.map(label).joined(separator: ", ")) \(f.allowedBy.count == 1 ? "allows" : "allow") \(place), but \(f.deniedBy.map(label).joined(separator: ", ")) \(f.deniedBy.count == 1 ? "denies" : "deny") it unconditionally there: method \(f.target.method) is not available on the identity itself."
          ))
      } else if f.outsideBoundary {
        add(
          ResultNote(
            code: "outside-boundary",
            message:
              "Permissions boundary \(boundary ?? "of the identity") does not allow \(place): method \(f.target.method) is not available on the identity itself."
          ))
      }
    }
    return out
  }
}
