/// An error of the renderers and the files they read and write (templates, stylesheet, reports),
/// naming the file concerned.
public struct RenderError: UserFacingError, Sendable, Equatable {
  public var path: String
  public var message: String

  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }

  public var description: String { "\(path): \(message)" }
}
