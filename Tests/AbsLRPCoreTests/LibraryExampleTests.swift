import Foundation
import XCTest

/// The README's library example, compiled and run as another Swift package
/// that depends on this one by path.
final class LibraryExampleTests: XCTestCase {
    /// The repository root (three folders above this file).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The Swift code between `<!-- library-example -->` and the end of the
    /// next code block in README.md.
    static func readmeExample() throws -> String {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let marker = readme.range(of: "<!-- library-example -->"),
              let open = readme.range(of: "```swift\n", range: marker.upperBound..<readme.endIndex),
              let close = readme.range(of: "```", range: open.upperBound..<readme.endIndex) else {
            throw XCTSkip("README.md has no library example")
        }
        return String(readme[open.upperBound..<close.lowerBound])
    }

    func testReadmeLibraryExampleCompilesAndRuns() throws {
        let code = try Self.readmeExample()
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("abslrp-example-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: work) }
        let sources = work.appendingPathComponent("LibraryUse/Sources/LibraryUse")
        try fm.createDirectory(at: sources, withIntermediateDirectories: true)
        // The dependency's identity comes from its folder name; a link gives it the package's name.
        try fm.createSymbolicLink(at: work.appendingPathComponent("absLRP-Swift"), withDestinationURL: Self.root)
        try """
            // swift-tools-version:6.0
            import PackageDescription
            let package = Package(
                name: "LibraryUse",
                dependencies: [.package(path: "../absLRP-Swift")],
                targets: [.executableTarget(name: "LibraryUse",
                                            dependencies: [.product(name: "AbsLRPCore", package: "absLRP-Swift")])],
                swiftLanguageModes: [.v5])
            """.write(to: work.appendingPathComponent("LibraryUse/Package.swift"), atomically: true, encoding: .utf8)
        try code.write(to: sources.appendingPathComponent("main.swift"), atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "run", "--package-path", work.appendingPathComponent("LibraryUse").path, "LibraryUse"]
        process.currentDirectoryURL = Self.root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("relevance [1, 1, 28, 28]"), text)
    }
}
