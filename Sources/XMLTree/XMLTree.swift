import CLibXML2

/// The libxml2 version compiled against.
public let libxml2Version = String(cString: clibxml2_version())
