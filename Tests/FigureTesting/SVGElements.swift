import AbsLRPCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of a parsed SVG: its name, attributes and text.
public struct SVGElement {
    public var name: String
    public var attributes: [String: String]
    public var text: String

    public subscript(attribute: String) -> String? { attributes[attribute] }
    /// A numeric attribute (nil when absent or not a number).
    public func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
    public var className: String? { attributes["class"] }
}

/// The elements of an SVG document in document order, read with Foundation's XMLParser.
public func svgElements(_ text: String) throws -> [SVGElement] {
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [SVGElement] = []
        var open: [Int] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            open.append(elements.count)
            elements.append(SVGElement(name: name, attributes: attributes, text: ""))
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let i = open.last { elements[i].text += string }
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
    }
    let parser = XMLParser(data: Data(text.utf8))
    let collector = Collector()
    parser.delegate = collector
    guard parser.parse() else {
        throw NSError(domain: "SVG", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(parser.parserError.map { "\($0)" } ?? "invalid XML")"])
    }
    return collector.elements
}

extension RGBImage {
    /// The (r, g, b) of pixel (x, y).
    public func pixel(_ x: Int, _ y: Int) -> [UInt8] {
        let i = 3 * (y * width + x)
        return Array(pixels[i..<(i + 3)])
    }
}

/// Entry `i` of the seismic table.
public func seismic(_ i: Int) -> [UInt8] { Array(Colormap.seismic.table[(3 * i)..<(3 * i + 3)]) }

/// A folder for pictures a test writes: `$FIGURES_DIR/<name>` when set (to
/// look at them), else a fresh temporary folder the caller removes.
public func pictureFolder(_ name: String) -> (url: URL, keep: Bool) {
    if let dir = ProcessInfo.processInfo.environment["FIGURES_DIR"] {
        let url = URL(fileURLWithPath: dir).appendingPathComponent(name)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return (url, true)
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-figures-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return (url, false)
}
