import Foundation
import XCTest

/// The README's library example, compiled and run as another Swift package
/// (in a temporary folder, `swift run` from that folder) that depends on this
/// one by path: the bundled model and sample come from the resource bundle.
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

    /// A cold debug build of this package and the example on two busy cores
    /// takes about 10 minutes; later runs reuse `.build/library-example`.
    static let timeLimitSeconds = 1500

    func testReadmeLibraryExampleCompilesAndRunsFromItsOwnPackage() throws {
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

        // `swift run` from the example's own folder, as a user would; its build
        // products are kept under this package's .build so that a second run
        // is incremental, and the run is bounded (a hung build fails the test).
        let package = work.appendingPathComponent("LibraryUse")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "run", "--scratch-path", Self.root.appendingPathComponent(".build/library-example").path,
                             "LibraryUse"]
        process.currentDirectoryURL = package
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = DispatchTime.now() + .seconds(Self.timeLimitSeconds)
        let timer = DispatchSource.makeTimerSource()
        timer.schedule(deadline: deadline)
        timer.setEventHandler { if process.isRunning { process.terminate() } }
        timer.resume()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        XCTAssertLessThan(DispatchTime.now(), deadline, "swift run took longer than \(Self.timeLimitSeconds) s")
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("relevance [1, 1, 28, 28]"), text)
    }
}
