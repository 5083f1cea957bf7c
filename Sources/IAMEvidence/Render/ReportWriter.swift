import Foundation

/// Writes generated files so that a failure never leaves half a file: every output is rendered in
/// memory first, then each is written to a temporary file beside its target and renamed over it.
public enum ReportWriter {
  /// One output file.
  public struct Output: Sendable {
    public var name: String
    public var bytes: [UInt8]
    public init(name: String, bytes: [UInt8]) {
      self.name = name
      self.bytes = bytes
    }
  }

  /// Writes `outputs` into `directory` (created if needed); returns the written paths.
  @discardableResult
  public static func write(_ outputs: [Output], to directory: URL) throws(RenderError) -> [URL] {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw RenderError(path: directory.path, message: "cannot create the folder: \(fileErrorReason(error, path: directory.path))")
    }
    var written: [URL] = []
    for output in outputs {
      let target = directory.appendingPathComponent(output.name)
      try writeAtomically(output.bytes, to: target)
      written.append(target)
    }
    return written
  }

  /// Writes `bytes` to a temporary file in the target's folder, then renames it into place.
  public static func writeAtomically(_ bytes: [UInt8], to target: URL) throws(RenderError) {
    let temporary = target.deletingLastPathComponent()
      .appendingPathComponent(".\(target.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    do {
      try Data(bytes).write(to: temporary)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw RenderError(path: target.path, message: "cannot write: \(fileErrorReason(error, path: target.path))")
    }
    do {
      try moveIntoPlace(temporary, over: target)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }

  /// Renames `temporary` to `target` with rename(2): atomic, replacing an existing file and refusing
  /// a folder. (`FileManager.replaceItemAt` fails on Linux and deletes the file it should replace.)
  static func moveIntoPlace(_ temporary: URL, over target: URL) throws(RenderError) {
    guard rename(temporary.path, target.path) == 0 else {
      throw RenderError(path: target.path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
  }

  /// The default folder of a report: `Reports/<account>/<captured date of the current snapshot>/`.
  public static func defaultDirectory(for model: EvidenceModel, base: URL) -> URL {
    base.appendingPathComponent(model.account).appendingPathComponent(model.current.capturedAt.dateString)
  }
}

/// The report's clock: `--generated-at`, else `SOURCE_DATE_EPOCH` (reproducible builds), else now.
public enum GenerationTime {
  public static func resolve(option: Timestamp?, environment: [String: String], now: Timestamp) throws(RenderError) -> Timestamp {
    if let option { return option }
    if let epoch = environment["SOURCE_DATE_EPOCH"], !epoch.isEmpty {
      guard let seconds = Int64(epoch) else {
        throw RenderError(path: "SOURCE_DATE_EPOCH", message: "must be whole seconds since 1970, got \"\(epoch)\"")
      }
      return Timestamp(epochSeconds: seconds)
    }
    return now
  }
}
