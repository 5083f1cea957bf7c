import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed file-system call: the path concerned and the system's reason. Callers turn it into the
/// error type of their layer.
struct FileSystemFailure: Error, Sendable, CustomStringConvertible {
  var path: String
  var message: String
  var code: Int32

  init(path: String, _ what: String, code: Int32 = errno) {
    self.path = path
    self.code = code
    self.message = "\(what): \(String(cString: strerror(code)))"
  }

  init(path: String, message: String) {
    self.path = path
    self.message = message
    self.code = 0
  }

  var description: String { "\(path): \(message)" }
}

/// An open folder, for the `*at` system calls: every name below is resolved inside this very folder,
/// whatever happens to its path meanwhile, and a name is never followed when it is a symbolic link
/// (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`). Used where files must be created safely (private keys) or
/// replaced together (report folders). Closed in `deinit`.
final class DirectoryHandle {
  /// The descriptor (`O_DIRECTORY`).
  let fd: Int32
  /// The folder's path, for messages.
  let path: String

  private init(fd: Int32, path: String) {
    self.fd = fd
    self.path = path
  }

  deinit { close(fd) }

  /// Opens the folder at `path` (following links in the path: the user named it).
  static func open(_ path: String) throws(FileSystemFailure) -> DirectoryHandle {
    let fd = systemOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw FileSystemFailure(path: path, "cannot open the folder") }
    return DirectoryHandle(fd: fd, path: path)
  }

  /// The path of `name` inside this folder, for messages.
  func path(of name: String) -> String { (path as NSString).appendingPathComponent(name) }

  /// The kind of what `name` is (not following a link), or nil when there is nothing by that name.
  func kind(of name: String) throws(FileSystemFailure) -> mode_t? {
    var info = stat()
    guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
      if errno == ENOENT { return nil }
      throw FileSystemFailure(path: path(of: name), "cannot inspect")
    }
    return info.st_mode & S_IFMT
  }

  /// The names in this folder, without `.` and `..`.
  func names() throws(FileSystemFailure) -> [String] {
    let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard copy >= 0, let stream = fdopendir(copy) else {
      throw FileSystemFailure(path: path, "cannot list the folder")
    }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
  }

  /// Opens the folder `name` inside this one, refusing a symbolic link.
  func openDirectory(_ name: String) throws(FileSystemFailure) -> DirectoryHandle {
    let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard child >= 0 else { throw FileSystemFailure(path: path(of: name), "cannot open the folder") }
    return DirectoryHandle(fd: child, path: path(of: name))
  }

  /// Creates a new folder with a fresh random name starting with `prefix` and permissions `mode`
  /// (less the umask); returns its name. An existing entry (or a link planted at a guessed name) is
  /// never reused: `mkdirat` fails on any existing name and another name is drawn.
  func makeTemporaryDirectory(prefix: String, mode: mode_t) throws(FileSystemFailure) -> String {
    for _ in 0..<100 {
      let name = prefix + String(UInt64.random(in: 0...UInt64.max), radix: 36)
      if mkdirat(fd, name, mode) == 0 { return name }
      guard errno == EEXIST else { throw FileSystemFailure(path: path(of: name), "cannot create a temporary folder") }
    }
    throw FileSystemFailure(path: path, message: "cannot create a temporary folder: every name tried exists")
  }

  /// Creates the file `name`, which must not exist (`O_EXCL`; a link at that name is not followed),
  /// with permissions `mode` from the first system call, writes `bytes`, and flushes them to disk.
  ///
  /// - Parameters:
  ///   - exactMode: Set the permissions to exactly `mode` (with `fchmod` on the open file, so no
  ///     other process can open it in between), instead of `mode` less the umask.
  ///   - created: Called with the file's path right after it was created, before anything is
  ///     written (tests inspect its permissions there).
  func createFile(
    _ name: String, mode: mode_t, exactMode: Bool = false, bytes: [UInt8], created: ((String) -> Void)? = nil
  ) throws(FileSystemFailure) {
    let file = openat(fd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode)
    guard file >= 0 else { throw FileSystemFailure(path: path(of: name), "cannot create") }
    defer { close(file) }
    if exactMode, fchmod(file, mode) != 0 { throw FileSystemFailure(path: path(of: name), "cannot set permissions") }
    created?(path(of: name))
    let failure = bytes.withUnsafeBytes { raw -> FileSystemFailure? in
      do throws(FileSystemFailure) {
        try writeAll(raw, to: file, name: name)
        return nil
      } catch {
        return error
      }
    }
    if let failure { throw failure }
    guard fsync(file) == 0 else { throw FileSystemFailure(path: path(of: name), "cannot flush to disk") }
  }

  /// Creates the file `name` like ``createFile(_:mode:exactMode:bytes:created:)``, lets `contents`
  /// write it through its descriptor (with ``writeAll(_:to:name:)``, a piece at a time), and flushes
  /// it to disk. What `contents` throws is rethrown; the partial file is left to the caller (report
  /// folders are removed whole).
  func createFile(_ name: String, mode: mode_t, contents: (Int32) throws -> Void) throws {
    let file = openat(fd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode)
    guard file >= 0 else { throw FileSystemFailure(path: path(of: name), "cannot create") }
    defer { close(file) }
    try contents(file)
    guard fsync(file) == 0 else { throw FileSystemFailure(path: path(of: name), "cannot flush to disk") }
  }

  /// Writes all of `bytes` to the descriptor `file` of this folder's file `name` (retrying
  /// interrupted and short writes).
  func writeAll(_ bytes: UnsafeRawBufferPointer, to file: Int32, name: String) throws(FileSystemFailure) {
    var written = 0
    while written < bytes.count {
      let n = write(file, bytes.baseAddress! + written, bytes.count - written)
      if n < 0 {
        if errno == EINTR { continue }
        throw FileSystemFailure(path: path(of: name), "cannot write")
      }
      written += n
    }
  }

  /// Flushes the folder's entries (new names, renames) to disk.
  func sync() throws(FileSystemFailure) {
    guard fsync(fd) == 0 else { throw FileSystemFailure(path: path, "cannot flush the folder to disk") }
  }

  /// Renames `name` to `newName` in `destination`, replacing what is there (a file, or an empty
  /// folder when `name` is a folder). A link at either name is itself moved or replaced, never followed.
  func rename(_ name: String, to destination: DirectoryHandle, as newName: String) throws(FileSystemFailure) {
    guard renameat(fd, name, destination.fd, newName) == 0 else {
      throw FileSystemFailure(path: destination.path(of: newName), "cannot rename \(path(of: name)) to it")
    }
  }

  /// Gives the file `name` the new name `newName` in `destination` without ever replacing anything:
  /// fails with `EEXIST` when `newName` exists. (`linkat` is the atomic "create if absent" of POSIX.)
  func link(_ name: String, to destination: DirectoryHandle, as newName: String) throws(FileSystemFailure) {
    guard linkat(fd, name, destination.fd, newName, 0) == 0 else {
      throw FileSystemFailure(path: destination.path(of: newName), "cannot create")
    }
  }

  /// Removes the file (or link) `name`.
  func removeFile(_ name: String) throws(FileSystemFailure) {
    guard unlinkat(fd, name, 0) == 0 else { throw FileSystemFailure(path: path(of: name), "cannot remove") }
  }

  /// Removes the folder `name` and the files directly inside it (folders this code made; they never
  /// hold subfolders). Nothing below a link is touched.
  func removeFlatDirectory(_ name: String) throws(FileSystemFailure) {
    let child = try openDirectory(name)
    for entry in try child.names() { try child.removeFile(entry) }
    guard unlinkat(fd, name, AT_REMOVEDIR) == 0 else { throw FileSystemFailure(path: path(of: name), "cannot remove") }
  }

  /// Swaps the entries `a` and `b` of this folder in one atomic step (Linux `renameat2` with
  /// `RENAME_EXCHANGE`). Returns false, changing nothing, when the system or the file system cannot
  /// (older kernels and C libraries, other systems, some network file systems).
  func exchange(_ a: String, _ b: String) throws(FileSystemFailure) -> Bool {
    #if canImport(Glibc)
      // Swift's Glibc module does not declare renameat2 (it is a GNU extension): look it up.
      guard let symbol = dlsym(nil, "renameat2") else { return false }
      typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
      let renameExchange: UInt32 = 2  // RENAME_EXCHANGE in <linux/fs.h>
      if unsafeBitCast(symbol, to: RenameAt2.self)(fd, a, fd, b, renameExchange) == 0 { return true }
      if errno == EINVAL || errno == ENOSYS || errno == ENOTSUP { return false }
      throw FileSystemFailure(path: path(of: b), "cannot exchange with \(path(of: a))")
    #else
      return false
    #endif
  }
}

/// `open(2)` under a name that does not clash with ``DirectoryHandle/open(_:)``.
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 {
  open(path, flags)
}
