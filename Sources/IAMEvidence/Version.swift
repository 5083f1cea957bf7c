/// The tool's version, recorded with every snapshot, result and report.
public enum IAMEvidenceVersion {
  public static let current = "0.1.0"
  public static let name = "iam-evidence"
}
