import Crypto

/// SHA-256 content addresses as the store keeps them (lower-case hex), computed without the copies
/// of `SHA256.Digest.hexString`: the store takes tens of thousands per snapshot.
enum ContentHash {
  private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

  /// The SHA-256 of `bytes`, in lower-case hex.
  static func hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

  /// `digest` in lower-case hex (the same text as its `hexString`).
  static func hex(_ digest: SHA256.Digest) -> String {
    digest.withUnsafeBytes { raw in
      digits.withUnsafeBufferPointer { digits in
        String(unsafeUninitializedCapacity: raw.count * 2) { out in
          for (i, b) in raw.enumerated() {
            out[2 * i] = digits[Int(b >> 4)]
            out[2 * i + 1] = digits[Int(b & 0xF)]
          }
          return raw.count * 2
        }
      }
    }
  }
}
