/// `privileged --format text`: the privileged-access register for terminals.
public enum PrivilegedText {
  public static func render(_ registers: [SnapshotPrivilegedRegister]) -> String {
    var lines: [String] = []
    for r in registers {
      let n = r.entries.count
      lines.append(
        "snapshot \(r.snapshot.id) (\(r.snapshot.capturedAt)): \(n) privileged \(n == 1 ? "identity" : "identities")")
      for e in r.entries {
        lines.append("  \(e.principal.type.rawValue) \(e.principal.name)  \(e.principal.arn)  (\(e.principal.id))")
        lines.append("    capabilities: \(e.capabilities.joined(separator: ", "))")
        if !e.methods.isEmpty { lines.append("    escalation methods: \(e.methods.joined(separator: ", "))") }
        for s in e.sources { lines.append("    source \(label(s))") }
        for x in e.exceptions { lines.append("    exception \(label(x))") }
        if let used = e.lastUsed {
          lines.append(
            "    last used: " + (used.date.map { "\($0)" + (used.region.map { " in \($0)" } ?? "") } ?? "never"))
        }
        lines.append("    privileged since: \(e.privilegedSince)")
      }
    }
    return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
  }

  /// `escalation [passrole-ec2]: group devs: inline pass` / `admin: managed arn:...`.
  static func label(_ s: CapabilitySource) -> String {
    s.capability + (s.method.map { " [\($0)]" } ?? "") + ": " + s.source.label
  }

  /// `kms-full-access: EXC-7 (approved by CISO, expires on 2024-09-30)`.
  static func label(_ x: (capability: String, checkID: String, exception: AppliedException)) -> String {
    "\(x.capability): \(x.exception.id) (approved by \(x.exception.approvedBy), expires on \(x.exception.expiresOn))"
  }
}
