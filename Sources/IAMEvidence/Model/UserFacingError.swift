import Foundation
import XMLTree

/// An error meant for the person running the tool: its `description` is the whole message shown
/// (after `error: `), plain, and names what it is about — the file, the JSON path, the database, the
/// column — so the user can act on it. Every layer's error conforms (``SnapshotDecodingError``,
/// ``StoreError``, ``ExceptionRegisterError``, ``AccountScopeError``, ``RenderError``, ``PackageError``, ``WorkflowError``,
/// XMLTree's `XMLError`); the CLI prints any of them as is and exits with code 2. Foundation's file
/// errors are wrapped into one of these, naming the path, before they leave the library.
public protocol UserFacingError: Error, CustomStringConvertible {}

extension SnapshotDecodingError: UserFacingError {}
extension XMLError: UserFacingError {}

/// The reason of a failed operation on the file at `path`, in a few words (`No such file or
/// directory`), for messages that name the path: the POSIX error beneath Foundation's when there is
/// one, else what Foundation's code means, else what is found on the way to `path`. Never
/// Foundation's raw `NSCocoaErrorDomain` text.
func fileErrorReason(_ error: any Error, path: String? = nil) -> String {
  let ns = error as NSError
  if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
  if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
    return String(cString: strerror(Int32(underlying.code)))
  }
  if ns.domain == NSCocoaErrorDomain {
    switch CocoaError.Code(rawValue: ns.code) {
    case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
    case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
    case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
    case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
    case .fileWriteFileExists: return String(cString: strerror(EEXIST))
    case .fileReadCorruptFile, .fileReadInapplicableStringEncoding: return "not valid text"
    default: break
    }
  }
  // Foundation gave no reason (e.g. "unknown write error"): say what stands in the way, if anything.
  if let path {
    var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
    while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path) {
      ancestor = ancestor.deletingLastPathComponent()
    }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), !isDirectory.boolValue {
      return "\(ancestor.path) is not a folder"
    }
  }
  return "the operation failed (Foundation error \(ns.code))"
}
