import Foundation
import XMLTree

/// An error meant for the person running the tool: its `description` is the whole message shown
/// (after `error: `), plain, and names what it is about — the file, the JSON path, the database, the
/// column — so the user can act on it. Every layer's error conforms (``SnapshotDecodingError``,
/// ``StoreError``, ``ExceptionRegisterError``, ``RenderError``, ``PackageError``, ``WorkflowError``,
/// XMLTree's `XMLError`); the CLI prints any of them as is and exits with code 2. Foundation's file
/// errors are wrapped into one of these, naming the path, before they leave the library.
public protocol UserFacingError: Error, CustomStringConvertible {}

extension SnapshotDecodingError: UserFacingError {}
extension XMLError: UserFacingError {}

/// The reason of a failed file operation in a few words (`No such file or directory`), from
/// Foundation's error or the POSIX error beneath it: used inside messages that name the path.
func fileErrorReason(_ error: any Error) -> String {
  let ns = error as NSError
  if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
  if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
    return String(cString: strerror(Int32(underlying.code)))
  }
  return ns.localizedDescription
}
