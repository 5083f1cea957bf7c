import ArgumentParser
import IAMEvidence

@main
struct IAMEvidenceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "iam-evidence",
    abstract: "Turn AWS IAM snapshots into ISO/IEC 27001 audit evidence.",
    subcommands: []
  )
}
