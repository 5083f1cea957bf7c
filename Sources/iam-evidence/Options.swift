import ArgumentParser
import Foundation
import IAMEvidence

/// `--db`, shared by every command that reads or writes the database.
struct DatabaseOptions: ParsableArguments {
  @Option(name: .long, help: "The SQLite evidence database (default: $IAM_EVIDENCE_DB, else ./iam-evidence.sqlite).")
  var db: String?

  var path: String {
    if let db { return db }
    if let env = ProcessInfo.processInfo.environment["IAM_EVIDENCE_DB"], !env.isEmpty { return env }
    return "iam-evidence.sqlite"
  }

  /// Opens the store; commands that only read refuse to create a database.
  func open(create: Bool) throws -> EvidenceStore {
    try EvidenceStore(path: path, create: create, now: Clock.now())
  }

  /// The service layer over the opened store.
  func workflow(create: Bool) throws -> EvidenceWorkflow {
    EvidenceWorkflow(store: try open(create: create))
  }
}

extension ExceptionRegister {
  /// `--exceptions PATH`: the register at PATH, or none.
  static func option(_ path: String?) throws -> ExceptionRegister {
    try path.map { try ExceptionRegister.load(path: $0) } ?? .empty
  }
}

/// The wall clock, read only here.
enum Clock {
  static func now() -> Timestamp {
    Timestamp(epochSeconds: Int64(Date().timeIntervalSince1970))
  }
}

/// Output formats of listing commands.
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

extension Timestamp: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}
