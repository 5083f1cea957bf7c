import Foundation

/// Writes generated files so that a failure never leaves half a file, nor a mix of old and new files.
///
/// A report's files are replaced together or not at all: ``write(_:to:)`` writes them all into a new
/// folder beside the report folder, flushes them to disk, and then puts that folder in the report
/// folder's place. The report folder therefore belongs to the tool: it may hold only the report's
/// own files, and a folder holding anything else is refused (nothing is written), so that a user's
/// files are never swept away with an old report.
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

  /// Writes `outputs` (plain file names) as the whole content of `directory`, replacing the report
  /// that is there, if any, in one step; returns the written paths.
  ///
  /// 1. The outputs (already rendered in memory) are written into a new folder
  ///    `.<name>.iam-evidence-new-<random>` beside `directory`, each file flushed to disk, then the
  ///    folder itself.
  /// 2. That folder takes `directory`'s place: on Linux in one atomic exchange (`renameat2` with
  ///    `RENAME_EXCHANGE`); where that is not available, `directory` is first renamed aside to
  ///    `.<name>.iam-evidence-old-<random>` and the new folder renamed in (if that fails, the old one
  ///    is renamed back). The old report is then removed and the parent folder flushed.
  /// 3. A crash between the two renames leaves the old report complete under its aside name: the
  ///    next write renames it back first (recovery), and removes the leftovers of interrupted writes.
  ///
  /// - Throws: ``RenderError`` naming the folder or file; on any error the old report is left whole.
  ///   A `directory` that is a link, or that holds files other than the outputs, is refused.
  @discardableResult
  public static func write(_ outputs: [Output], to directory: URL) throws(RenderError) -> [URL] {
    try write(
      outputs, to: directory, exchange: true,
      writeFile: { folder, output throws(FileSystemFailure) in
        try folder.createFile(output.name, mode: 0o666, bytes: output.bytes)
      })
  }

  /// A report folder being written (the new folder of ``write(names:to:fill:)``): each file is
  /// created in it and written a piece at a time, never held whole in memory; files may be created
  /// from several threads at once.
  public final class Folder: @unchecked Sendable {
    let handle: DirectoryHandle
    let names: [String]
    /// The files created so far (files may be created from several threads at once).
    private let createdNames = Locked<Set<String>>([])
    var created: Set<String> { createdNames.withLock { $0 } }

    init(_ handle: DirectoryHandle, names: [String]) {
      self.handle = handle
      self.names = names
    }

    /// Creates the file `name` (one of the folder's names, once), lets `body` write it through a
    /// ``RenderSink``, flushes it to disk and returns its description (with `rows`).
    @discardableResult
    public func create(_ name: String, rows: Int = 0, _ body: (RenderSink) throws -> Void) throws -> RenderedFile {
      guard names.contains(name), createdNames.withLock({ $0.insert(name).inserted }) else {
        throw RenderError(path: handle.path(of: name), message: "not a file of this report, or written twice")
      }
      var file: RenderedFile?
      try handle.createFile(name, mode: 0o666) { fd in
        let sink = RenderSink { bytes throws(FileSystemFailure) in try self.handle.writeAll(bytes, to: fd, name: name) }
        try body(sink)
        file = try sink.finish(name: name, rows: rows)
      }
      return file!
    }
  }

  /// Writes the report files `names` as the whole content of `directory`, like ``write(_:to:)`` (the
  /// same new folder, flush to disk and exchange), `fill` creating each of them in the new folder
  /// (``Folder/create(_:rows:_:)``) as it renders them.
  ///
  /// - Throws: ``RenderError`` for the file system, or what `fill` throws; the old report is left whole.
  @discardableResult
  public static func write(names: [String], to directory: URL, fill: (Folder) throws -> Void) throws -> [URL] {
    try write(names: names, to: directory, exchange: true) { handle in
      let folder = Folder(handle, names: names)
      try fill(folder)
      let missing = names.filter { !folder.created.contains($0) }
      if !missing.isEmpty { throw RenderError(path: directory.path, message: "the report's files were not all written: \(missing)") }
    }
  }

  /// The prefixes of the folders ``write(_:to:)`` makes beside `name`.
  static func newPrefix(_ name: String) -> String { ".\(name).iam-evidence-new-" }
  static func oldPrefix(_ name: String) -> String { ".\(name).iam-evidence-old-" }

  /// ``write(_:to:)`` with the exchange optional and the file writer injected (tests make it fail).
  static func write(
    _ outputs: [Output], to directory: URL, exchange: Bool,
    writeFile: (DirectoryHandle, Output) throws(FileSystemFailure) -> Void
  ) throws(RenderError) -> [URL] {
    do {
      return try write(names: outputs.map(\.name), to: directory, exchange: exchange) { folder in
        for output in outputs { try writeFile(folder, output) }
      }
    } catch let error as RenderError {
      throw error
    } catch {
      throw RenderError(path: directory.path, message: "\(error)")  // not reached: writeFile throws FileSystemFailure, made a RenderError
    }
  }

  /// ``write(names:to:fill:)`` with the exchange optional and `fill` given the new folder's handle.
  static func write(names: [String], to directory: URL, exchange: Bool, fill: (DirectoryHandle) throws -> Void) throws -> [URL] {
    let target = directory.standardizedFileURL
    let name = target.lastPathComponent
    for n in names where n.isEmpty || n.contains("/") || n.hasPrefix(".") || n.utf8.contains(0) {
      throw RenderError(path: n, message: "not a plain file name for a report file")
    }
    guard Set(names).count == names.count else { throw RenderError(path: target.path, message: "two report files share a name") }
    do {
      try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
    } catch {
      // Say what stands in the way (a file where a folder should be) rather than "File exists".
      var ancestor = target.deletingLastPathComponent()
      var isFolder: ObjCBool = false
      while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isFolder) {
        ancestor = ancestor.deletingLastPathComponent()
      }
      let reason = isFolder.boolValue ? fileErrorReason(error, path: target.path) : "\(ancestor.path) is not a folder"
      throw RenderError(path: target.path, message: "cannot create the folder: \(reason)")
    }
    do {
      let parent = try DirectoryHandle.open(target.deletingLastPathComponent().path)
      try recover(name, in: parent)
      let existed: Bool
      switch try parent.kind(of: name) {
      case nil: existed = false
      case S_IFDIR?:
        let old = try parent.openDirectory(name)
        let foreign = try old.names().filter { !names.contains($0) }
        if !foreign.isEmpty {
          throw FileSystemFailure(
            path: target.path,
            message:
              "holds files that are not part of a report (\(foreign.prefix(5).joined(separator: ", "))\(foreign.count > 5 ? ", …" : "")); choose an empty or new folder (the report folder is replaced whole)"
          )
        }
        existed = true
      case S_IFLNK?: throw FileSystemFailure(path: target.path, message: "is a symbolic link; give the folder it points to")
      default: throw FileSystemFailure(path: target.path, message: "exists and is not a folder")
      }
      let staging = try parent.makeTemporaryDirectory(prefix: newPrefix(name), mode: 0o777)
      do {
        let folder = try parent.openDirectory(staging)
        try fill(folder)
        try folder.sync()
        if !existed {
          try parent.rename(staging, to: parent, as: name)
        } else if exchange, try parent.exchange(staging, name) {
          try parent.removeFlatDirectory(staging)  // now the old report
        } else {
          let aside = try parent.makeTemporaryDirectory(prefix: oldPrefix(name), mode: 0o700)
          try parent.rename(name, to: parent, as: aside)  // replaces the empty folder just made
          do throws(FileSystemFailure) {
            try parent.rename(staging, to: parent, as: name)
          } catch {
            try? parent.rename(aside, to: parent, as: name)
            throw error
          }
          try parent.removeFlatDirectory(aside)
        }
      } catch {
        try? parent.removeFlatDirectory(staging)
        throw error
      }
      try parent.sync()
    } catch let error as FileSystemFailure {
      throw RenderError(path: error.path, message: error.message)
    }
    return names.map { target.appendingPathComponent($0) }
  }

  /// Finishes what an interrupted ``write(_:to:)`` left beside the folder `name`: an old report
  /// renamed aside while no folder `name` exists is renamed back; other leftovers (new folders never
  /// swapped in, old ones never removed) are removed.
  static func recover(_ name: String, in parent: DirectoryHandle) throws(FileSystemFailure) {
    let leftovers = try parent.names().filter { $0.hasPrefix(newPrefix(name)) || $0.hasPrefix(oldPrefix(name)) }
    var present = try parent.kind(of: name) != nil
    for leftover in leftovers where try parent.kind(of: leftover) == S_IFDIR {
      if !present, leftover.hasPrefix(oldPrefix(name)) {
        try parent.rename(leftover, to: parent, as: name)
        present = true
      } else {
        try parent.removeFlatDirectory(leftover)
      }
    }
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
