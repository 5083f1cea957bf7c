import Foundation
import PackagePlugin

/// Gives the `IAMEvidence` library the SHA-256 of the sources it is built from
/// (`BuildInfo.sourceSHA256`), so that every report, package and ingest can name the exact build
/// that produced it.
///
/// The hash covers `Package.swift` and every regular file under `Plugins/`, `Sources/` and `Templates/`: the
/// SHA-256 of the `sha256sum` listing of those files (`<hex>  <path>`, one line each, paths relative
/// to the package root, sorted bytewise). Anyone holding the source tree recomputes it with
///
///     find Package.swift Plugins Sources Templates -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
///
/// Every file is an input of the command, so a change to any of them rehashes.
@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let root = context.package.directoryURL
    let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo.swift")
    var inputs = [root.appendingPathComponent("Package.swift")]
    for folder in ["Plugins", "Sources", "Templates"] {
      let base = root.appendingPathComponent(folder)
      guard
        let walker = FileManager.default.enumerator(
          at: base, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey], options: [])
      else { continue }
      for case let url as URL in walker {
        let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
        if values.isRegularFile == true && values.isSymbolicLink != true { inputs.append(url) }
      }
    }
    return [
      .buildCommand(
        displayName: "Hashing the sources of \(target.name)",
        executable: try context.tool(named: "SourceDigest").url,
        arguments: [root.path, output.path],
        inputFiles: inputs,
        outputFiles: [output])
    ]
  }
}
