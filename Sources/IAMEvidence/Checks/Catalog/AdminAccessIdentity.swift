/// `admin-access-identity` — the administrators: every user and role whose effective permissions
/// allow every action on all resources.
///
/// Per user and role, everything that applies to it is put together (``IdentitySources``): its inline
/// policies, its attached managed policies — customer- or AWS-managed, so `AdministratorAccess`
/// counts — and, for users, the inline and attached policies of each group; Allow grants add up
/// across them, unconditional Denies on all resources of any of them neutralise the grant only when
/// they deny every action, and a permissions boundary limits the grant to what the boundary itself
/// allows on all resources. Each source of the grant is listed. This is the list an auditor asks for
/// first; approved administrators go in the exceptions register, which is the record of the
/// authorisation A.8.2 requires.
///
/// What the snapshot lacks is never guessed: an attached policy, a group or a permissions boundary
/// missing from the snapshot, or a source or boundary that is not a valid policy, makes the result
/// `error` unless what is known already makes the identity an administrator (then it fails, noted).
public struct AdminAccessIdentity: Check {
  public init() {}

  public let description = CheckDescription(
    id: "admin-access-identity",
    version: 2,
    title: "No user or role effectively holds every action on all resources",
    controls: ["A.8.2"],
    rationale: """
      The control is about who holds privileged access, not only about how policies are written: an \
      identity is an administrator when everything attached to it, directly or through groups, adds up \
      to every action on every resource — through AWS-managed AdministratorAccess as much as through \
      the account's own policies. Each administrator must be authorised and recorded; approved ones go \
      in the exceptions register.
      """,
    remediation: """
      Remove or narrow the listed sources until no combination allows every action on all resources, \
      or set a permissions boundary that does not allow it; where the identity is an approved \
      administrator, record the approval in the exceptions register.
      """,
    methodology: [
      "Population: every user and every role in the snapshot.",
      "Sources: the identity's inline policies; the default version of every managed policy attached to it, customer- or AWS-managed (AdministratorAccess included); for users, the inline and attached policies of each group it belongs to.",
      "Allow grants on all resources add up across sources, by the rules of admin-access-inline; the identity fails when every action of the action catalog is allowed (within the boundary). Credited Denies of its sources (no Condition, on all resources) pass it only when they deny every action (noted \"neutralised-by-deny\"); a Deny of some actions is noted \"partial-deny\" with the number of granted actions that remain, and the identity still fails.",
      "A permissions boundary limits the grant to the actions the boundary itself allows on all resources (its Allow statements minus its own unconditional Denies on all resources); grants it does not allow are noted \"outside-boundary\".",
      "An attached policy, a group or a permissions boundary missing from the snapshot is noted \"unknown-policy\", a source or boundary that is not a valid policy is noted too; either makes the status \"error\" (the identity cannot be shown to pass) unless the known sources already allow every action, in which case it fails.",
      "Each source of a failing identity's grant is listed (\"Access comes from\").",
      "Exceptions: a result is excepted by an exception in force for this check that matches the identity and names no policy, or when every source of its grant is covered by an exception in force naming that policy (for this check, admin-access-inline, admin-access-managed or every check, and for this identity, its group for a group source, or any principal); the result then lists the exceptions covering it. Exceptions covering some sources only except nothing (noted \"exception-partial\").",
      "Version 2: an attached policy (directly or through a group) whose DefaultVersionId and IsDefaultVersion flags disagree (two or more versions flagged, DefaultVersionId naming a version other than the flagged one, or naming a version of the snapshot while none is flagged) is treated as a policy whose document is unknown, noted \"default-version-inconsistent\" with the disagreement (status \"error\" unless the known sources already allow every action); a permissions boundary whose flags disagree is noted so and makes the status \"error\" unless the identity holds every action, like a boundary missing from the snapshot (version 1 judged the version DefaultVersionId names).",
    ],
    population: "Users and roles (effective permissions)",
    triggering: [
      CheckExample(
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, placement: .awsManagedAttachedToRole),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","NotAction":"kms:*","Resource":"*"},{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, placement: .inlineOnGroup),
      CheckExample(#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, placement: .managedAttachedToGroup),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"organizations:*","Resource":"*"}]}"#,
        notes: ["partial-deny"]),
    ],
    nonTriggering: [
      CheckExample(#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#, notes: ["outside-boundary"],
        placement: .managedAttachedToUserWithinBoundary(#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)),
      CheckExample(
        #"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        notes: ["neutralised-by-deny"]),
    ],
    examplePlacement: .managedAttachedToUser,
    target: .allActions,
    capability: "admin",
    sourceChecks: ["admin-access-inline", "admin-access-managed"]
  )

  public func run(_ context: CheckContext) -> [CheckResult] {
    let target = context.resolved(.allActions)
    return context.snapshot.principals.filter { $0.type != .group }.map { identity(context, $0, target: target) }
  }

  private func identity(_ context: CheckContext, _ principal: Principal, target: ResolvedTarget) -> CheckResult {
    let sources = context.identitySources(of: principal)
    let policies = context.identityPolicies(sources)
    let access = context.engine.fullAccess(policies, target: target)
    var notes = access.notes.map(CheckSupport.note)
    notes += access.errors.map(CheckSupport.grammarNote)
    // The issue's rule, stricter than the engine's: whatever the snapshot lacks or cannot read keeps
    // the identity from passing (the engine judges without an unknown or invalid boundary, and clears
    // an identity that an unknown policy could not make an administrator).
    var incomplete: [String] = sources.unknownPolicies.map(\.label) + sources.unknownGroups.map { "group \($0)" }
    if let b = sources.unknownBoundary { incomplete.append("permissions boundary \(b)") }
    incomplete += policies.sources.filter { !$0.analysis.isValid }.map(\.label)
    if let b = policies.boundary, !b.analysis.isValid { incomplete.append(b.label) }
    let status: ResultStatus
    switch access.verdict {
    case .holds: status = .fail
    case .error: status = .error
    case .partial, .none: status = incomplete.isEmpty ? .pass : .error
    }
    var why = access.why
    if status == .error && access.verdict != .error {
      why =
        "\(incomplete.joined(separator: ", ")) \(incomplete.count == 1 ? "is" : "are") missing from the snapshot, not a valid policy or of unknown default version; the identity cannot be shown not to hold every action. "
        + why
    }
    let grantSources = status == .fail ? sources.grantSources(access.grantingSources) : []
    var remediation: [String] = []
    if status == .fail {
      let noun = principal.type.rawValue
      remediation = CheckSupport.remediationForSources(principal, grantSources)
      remediation.append(
        "Or set a permissions boundary that does not allow every action: aws iam put-\(noun)-permissions-boundary --\(noun)-name \(CheckSupport.shell(principal.name)) --permissions-boundary <policy-arn>"
      )
    }
    return CheckResult(
      checkID: description.id, checkVersion: description.version, status: status, principal: PrincipalRef(principal),
      reasons: status == .fail ? access.reasons.map(\.rawValue) : [], notes: notes, why: why, sources: grantSources,
      remediation: remediation)
  }
}
