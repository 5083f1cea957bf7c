/// `kms-full-access-identity` — who can actually do everything with every KMS key?
///
/// Per user and role, the effective result of everything that applies to it: its own inline policies,
/// its groups' inline policies, its attached managed policies (customer- and AWS-managed, e.g.
/// `AdministratorAccess`), its groups' attached policies, unconditional Denies from any of them, and its
/// permissions boundary (a grant the boundary does not allow is not effective). Each source of the
/// grant is listed. This answers the auditor's question "who can do this?".
public struct IdentityFullKMSAccess: Check {
  public init() {}

  public let description = CheckDescription(
    id: "kms-full-access-identity",
    version: 4,
    title: "No user or role effectively holds full AWS KMS access on all keys",
    controls: ["A.8.2", "A.8.3", "A.8.24"],
    rationale: """
      Policies that each look harmless can add up, and AWS-managed policies such as AdministratorAccess \
      grant KMS too. The control is about identities, so each user and role is judged on the union of \
      everything attached to it, directly or through groups, within its permissions boundary.
      """,
    remediation: """
      Remove or narrow the listed sources until no combination grants every KMS action on all keys, or \
      set a permissions boundary that does not allow it.
      """,
    methodology: [
      "Population: every user and every role in the snapshot.",
      "Sources: the identity's inline policies; for users, the inline policies of each group it belongs to; the default version of every managed policy attached to it or (users) to its groups, customer- or AWS-managed.",
      "Each source is read with the action and resource rules of kms-full-access-inline, and the KMS actions each allows on all keys add up across sources. A permissions boundary limits them to the actions the boundary itself allows on all keys (its Allow statements minus its own credited Denies); a boundary missing from the snapshot (\"boundary-unknown\") or not a valid policy (\"boundary-invalid\") is noted and the grant judged without it.",
      "The identity fails when its sources together allow every KMS action of the catalog on all keys (within the boundary). Credited Denies of any source (no Condition, on every key) pass it only when they deny every granted action (noted \"neutralised-by-deny\"). A Deny of only some of them is noted \"partial-deny\" with the number of granted actions that remain, and the identity still fails; a Deny under a Condition or on some keys only is noted and not credited. Conditions on Allow statements do not narrow the grant (noted \"conditional\").",
      "An attached policy whose document is not in the snapshot is noted \"unknown-policy\", and a source that is not a valid policy \"source-invalid\"; either makes the status \"error\" (the identity cannot be shown to pass) unless the known valid sources already allow every KMS action on all keys, in which case it fails. A group missing from the snapshot is noted \"unknown-group\" and, its policies being unknown, likewise makes the status \"error\" unless the known sources already allow every KMS action on all keys (version 2; version 1 left the status unchanged for it, so such a user could pass).",
      "Each source of a failing identity's grant is listed (\"Access comes from\").",
      "Exceptions: a result is excepted by an exception in force for this check that matches the identity and names no policy, or when every source of its grant is covered by an exception in force naming that policy (for this check, kms-full-access-inline, kms-full-access-managed or every check, and for this identity, its group for a group source, or any principal); the result then lists the exceptions covering it. Exceptions covering some sources only except nothing (noted \"exception-partial\").",
      "Version 3: a policy variable (${aws:username}) is one value of the request, never a wildcard, so a Deny whose Resource holds one (arn:aws:kms:*:*:key/${aws:username}) is not on every key and is not credited, and an Allow whose NotResource holds one leaves all keys in (version 2 read a variable as * in both, so such a Deny cancelled the grant and such a NotResource excluded every key); in an Allow's Resource a variable still reaches as far as * would. A Deny reaches the actions that take only Resource \"*\" (CreateKey, ListKeys, GenerateRandom, DisconnectCustomKeyStore and the other custom key store actions) only when its Resource matches \"*\" or its NotResource does not: a Deny of kms:* on arn:aws:kms:*:*:key/* or arn:aws:kms:* leaves them allowed (noted \"partial-deny\"; version 2 credited it for them too).",
      "Version 4: an attached policy (directly or through a group) whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) is treated as a policy whose document is unknown, noted \"default-version-inconsistent\" with the disagreement (status \"error\" unless the known valid sources already allow every KMS action on all keys); a permissions boundary whose flags disagree is noted so and the grant judged without it, like a boundary missing from the snapshot (version 3 judged the version DefaultVersionId names).",
    ],
    population: "Users and roles (effective permissions)",
    triggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}"#),
      // Through a group, with a Deny of one action on every key: a partial Deny is noted, the identity
      // still fails (the demo's alice.admin).
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*"},{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#,
        notes: ["partial-deny"], placement: .inlineOnGroup),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"kms:Describe*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
    ],
    examplePlacement: .managedAttachedToUser,
    target: .service("kms"),
    quotes: .matchingTarget,
    capability: "kms-full-access",
    sourceChecks: ["kms-full-access-inline", "kms-full-access-managed"]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    context.snapshot.principals.filter { $0.type != .group }.map { identity(context, $0) }
  }

  private func identity(_ context: CheckContext, _ principal: Principal) -> CheckResult {
    var sources: [(GrantSource, PolicySource)] = []
    var unknown: [String] = []
    func add(inline policies: [InlinePolicy], via group: String?) {
      for p in policies {
        let source = GrantSource(kind: group == nil ? "inline" : "group-inline", policyName: p.name, viaGroup: group)
        sources.append(
          (source, PolicySource(label: source.label, text: p.document, evaluation: context.fullAccess(of: p.document))))
      }
    }
    func add(attached: [AttachedPolicy], via group: String?) {
      for a in attached {
        guard let doc = context.policiesByARN[a.arn]?.defaultVersion?.document else {
          unknown.append(a.arn)
          continue
        }
        let source = GrantSource(kind: group == nil ? "managed" : "group-managed", policyName: a.name, policyARN: a.arn, viaGroup: group)
        sources.append((source, PolicySource(label: source.label, text: doc, evaluation: context.fullAccess(of: doc))))
      }
    }
    add(inline: principal.inlinePolicies, via: nil)
    add(attached: principal.attachedPolicies, via: nil)
    for groupName in principal.groups {
      guard let group = context.groupsByName[groupName] else { continue }
      add(inline: group.inlinePolicies, via: groupName)
      add(attached: group.attachedPolicies, via: groupName)
    }
    var notes: [ResultNote] = []
    var boundary: PolicySource?
    if let b = principal.permissionsBoundary {
      if let doc = context.policiesByARN[b.arn]?.defaultVersion?.document {
        boundary = PolicySource(label: "boundary \(b.arn)", text: doc, evaluation: context.fullAccess(of: doc))
      } else if let d = context.policiesByARN[b.arn]?.defaultVersionDisagreement {
        notes.append(
          ResultNote(
            code: "default-version-inconsistent",
            message: "Permissions boundary \(b.arn): the snapshot disagrees on its default version (\(d)); judged without it."))
      } else {
        notes.append(
          ResultNote(code: "boundary-unknown", message: "Permissions boundary \(b.arn) is not in the snapshot; judged without it."))
      }
    }
    let missingGroups = principal.groups.filter { context.groupsByName[$0] == nil }
    if !missingGroups.isEmpty {
      notes.append(ResultNote(code: "unknown-group", message: "Groups not in the snapshot: \(missingGroups.joined(separator: ", "))."))
    }
    for arn in unknown {
      if let d = context.policiesByARN[arn]?.defaultVersionDisagreement {
        notes.append(
          ResultNote(
            code: "default-version-inconsistent",
            message: "Attached policy \(arn): the snapshot disagrees on its default version (\(d)); its grants are unknown."))
      } else {
        notes.append(ResultNote(code: "unknown-policy", message: "Attached policy \(arn) is not in the snapshot; its grants are unknown."))
      }
    }
    let evaluation = context.evaluator.effectiveFullKMSAccess(sources: sources.map(\.1), boundary: boundary)
    notes += evaluation.notes.map(CheckSupport.note)
    let status: ResultStatus
    switch evaluation.verdict {
    case .grantsAll: status = .fail
    case .invalid: status = .error
    // What the snapshot lacks (an attached policy or a group) may grant the rest: not a pass.
    case .grantsSome, .grantsNone: status = unknown.isEmpty && missingGroups.isEmpty ? .pass : .error
    }
    notes += evaluation.verdict.errors.map(CheckSupport.grammarNote)
    let granting = Set(evaluation.grantingSources)
    let grantSources = status == .fail ? sources.map(\.0).filter { granting.contains($0.label) } : []
    var why = evaluation.why
    let lacking = unknown + missingGroups.map { "group \($0)" }
    if status == .error && !lacking.isEmpty && evaluation.verdict != .grantsAll {
      why =
        "Attached policies or groups missing from the snapshot or of unknown default version (\(lacking.joined(separator: ", "))) may grant KMS access; the identity cannot be shown to pass. "
        + why
    }
    var remediation: [String] = []
    if status == .fail {
      remediation = CheckSupport.remediationForSources(principal, grantSources)
      remediation.append(
        "Or set a permissions boundary that does not allow KMS on all keys: aws iam put-\(principal.type.rawValue)-permissions-boundary --\(principal.type.rawValue)-name \(CheckSupport.shell(principal.name)) --permissions-boundary <policy-arn>"
      )
    }
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: status, principal: PrincipalRef(principal),
      reasons: status == .fail ? evaluation.reasons.map(\.rawValue) : [], notes: notes, why: why, sources: grantSources,
      remediation: remediation)
  }
}
