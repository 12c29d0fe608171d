import Foundation

/// A static HTML report page (`index.html`): one file with its CSS inline,
/// no scripts, no network; pictures are referenced by relative paths to
/// files of the same run. Readable without JavaScript in any browser.
public struct HTMLPage: Sendable {
    public let title: String
    private var body: [String] = []

    /// The page's file name in a run's output folder.
    public static let fileName = "index.html"

    public init(title: String, subtitle: String? = nil) {
        self.title = title
        body.append("<h1>\(Self.escaped(title))</h1>")
        if let subtitle { body.append("<p class=\"subtitle\">\(Self.escaped(subtitle))</p>") }
    }

    /// A section heading (`level` 2 or 3).
    public mutating func heading(_ text: String, level: Int = 2, id: String? = nil) {
        let anchor = id.map { " id=\"\(Self.escaped($0))\"" } ?? ""
        body.append("<h\(level)\(anchor)>\(Self.escaped(text))</h\(level)>")
    }

    /// A paragraph of plain text.
    public mutating func paragraph(_ text: String) { body.append("<p>\(Self.escaped(text))</p>") }

    /// A warning, set apart in red.
    public mutating func warning(_ text: String) { body.append("<p class=\"warning\">\(Self.escaped(text))</p>") }

    /// A table with a header row; cells are plain text. Columns listed in
    /// `numeric` are right-aligned.
    public mutating func table(header: [String], rows: [[String]], numeric: Set<Int> = [], caption: String? = nil) {
        func cell(_ tag: String, _ text: String, _ column: Int) -> String {
            "<\(tag)\(numeric.contains(column) ? " class=\"num\"" : "")>\(Self.escaped(text))</\(tag)>"
        }
        var html = "<table>"
        if let caption { html += "<caption>\(Self.escaped(caption))</caption>" }
        html += "<thead><tr>" + header.enumerated().map { cell("th", $0.element, $0.offset) }.joined() + "</tr></thead><tbody>"
        for row in rows { html += "<tr>" + row.enumerated().map { cell("td", $0.element, $0.offset) }.joined() + "</tr>" }
        body.append(html + "</tbody></table>")
    }

    /// Name-value pairs.
    public mutating func definitions(_ pairs: [(String, String)]) {
        body.append("<dl>" + pairs.map { "<dt>\(Self.escaped($0.0))</dt><dd>\(Self.escaped($0.1))</dd>" }.joined() + "</dl>")
    }

    /// A picture of the run: `path` relative to the page's folder.
    public mutating func figure(_ path: String, alt: String, caption: String? = nil) {
        var html = "<figure><img src=\"\(Self.escaped(Self.relativeURL(path)))\" alt=\"\(Self.escaped(alt))\">"
        if let caption { html += "<figcaption>\(Self.escaped(caption))</figcaption>" }
        body.append(html + "</figure>")
    }

    /// Starts a row of figures side by side (closed by ``endRow()``).
    public mutating func beginRow() { body.append("<div class=\"row\">") }
    public mutating func endRow() { body.append("</div>") }

    /// The page's text.
    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Self.escaped(title))</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        \(body.joined(separator: "\n"))
        <footer>Written by abslrp. Static page: every picture is a file beside it.</footer>
        </body>
        </html>

        """
    }

    /// The page as UTF-8 bytes.
    public var data: Data { Data(html.utf8) }

    static let style = """
        body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;padding:0 16px;\
        color:#111;line-height:1.4}h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;\
        border-bottom:1px solid #ccc}h3{font-size:1.05em}.subtitle{color:#555;margin-top:0}\
        .warning{color:#a00;font-weight:bold}table{border-collapse:collapse;margin:.6em 0}caption{text-align:left;\
        color:#555;padding-bottom:.3em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}\
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\
        figure{margin:.6em 1em .6em 0;display:inline-block;vertical-align:top}img{max-width:100%;height:auto;\
        border:1px solid #eee}figcaption{color:#555;font-size:.9em}.row{display:flex;flex-wrap:wrap;align-items:flex-start;gap:8px}\
        dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{color:#555}dd{margin:0}\
        footer{margin-top:3em;color:#888;font-size:.85em}
        """

    /// `path` as a relative URL (each component percent-encoded).
    static func relativeURL(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? String($0)
        }.joined(separator: "/")
    }

    /// `s` with HTML's special characters escaped.
    public static func escaped(_ s: String) -> String { SVGDocument.escaped(s) }
}
