import ArgumentParser
import Foundation
import IAMEvidence

/// The root command. Exit codes: 0 ok; 1 findings present (only `assess --fail-on fail`);
/// 2 usage or input error.
struct IAMEvidenceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "iam-evidence",
    abstract: "Turn AWS IAM snapshots into ISO/IEC 27001 audit evidence.",
    version: IAMEvidenceVersion.current,
    subcommands: [
      Demo.self, Ingest.self, Snapshots.self, Assess.self, Findings.self, Privileged.self, Accounts.self, Checks.self, Trend.self,
      Diff.self,
      Review.self, Report.self, PackageCommand.self, Verify.self, Keygen.self, CheckDB.self, Migrate.self,
    ]
  )
}

@main
enum Main {
  static func main() {
    // Large reports build and free hundreds of thousands of small libxml2 nodes (see Allocator).
    Allocator.disableFastBins()
    do {
      var command = try IAMEvidenceCommand.parseAsRoot()
      try command.run()
    } catch let code as ExitCode {
      Foundation.exit(code.rawValue)
    } catch let failure as CommandFailure {
      Terminal.error(TerminalText.escape(failure.description))
      Foundation.exit(failure.exitCode)
    } catch let error as any UserFacingError {
      // Every layer's error says what it is about (file, JSON path, database...), on one line: a
      // newline in a name it quotes is shown escaped, not as a line of its own.
      Terminal.error(TerminalText.escape(error.description))
      Foundation.exit(2)
    } catch {
      if IAMEvidenceCommand.exitCode(for: error) == .success {
        IAMEvidenceCommand.exit(withError: error)  // --help, --version
      }
      Terminal.error(IAMEvidenceCommand.fullMessage(for: error))
      // Usage errors and input errors share exit code 2; 1 is kept for "findings present".
      Foundation.exit(2)
    }
  }
}

/// A failure with a message and an exit code, thrown by subcommands.
struct CommandFailure: UserFacingError {
  var message: String
  var exitCode: Int32 = 2

  var description: String { message }
}

/// Writing to the terminal: the only place the tool prints. Text goes through
/// ``TerminalText/escape(_:keepingNewlines:)``: a control character from a name (ESC, BEL, a bidi
/// override) shows as `\u{1B}` instead of acting on the terminal. Commands escape each value of a
/// line before joining lines (so a newline in a name cannot fake a line); this is the net under them.
/// JSON and CSV go out unchanged through ``raw(_:terminator:)``.
enum Terminal {
  static func out(_ line: String, terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((TerminalText.escape(line, keepingNewlines: true) + terminator).utf8))
  }

  /// Machine formats (JSON escapes control characters itself; CSV is data), as they are.
  static func raw(_ text: String, terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
  }

  static func error(_ line: String) {
    FileHandle.standardError.write(Data(("error: " + TerminalText.escape(line, keepingNewlines: true) + "\n").utf8))
  }

  static func note(_ line: String) {
    FileHandle.standardError.write(Data((TerminalText.escape(line, keepingNewlines: true) + "\n").utf8))
  }

  static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
