import Foundation
import XCTest
@testable import AbsLRPCore

/// `InputFile`, the one reader of the files a user names: a regular file
/// is read; a missing path, a folder, a device and a FIFO are typed errors
/// from `stat`, before anything is opened (so the FIFO cannot block).
final class InputFileTests: TemporaryFolderTestCase {
    func testOnlyRegularFilesAreRead() throws {
        let file = parent.appendingPathComponent("f.json"), fifo = parent.appendingPathComponent("fifo")
        try Data("{}".utf8).write(to: file)
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertEqual(try InputFile.contents(of: file), Data("{}".utf8))
        XCTAssertEqual(try InputFile.contents(of: file, mapped: true), Data("{}".utf8))
        let refused: [(URL, InputFileError)] = [
            (parent.appendingPathComponent("missing"), .missing), (file.appendingPathComponent("below-a-file"), .missing),
            (parent, .directory), (URL(fileURLWithPath: "/dev/zero"), .notRegular(kind: "character device")),
            (fifo, .notRegular(kind: "FIFO")),
        ]
        for (url, expected) in refused {
            XCTAssertThrowsError(try InputFile.contents(of: url)) { XCTAssertEqual($0 as? InputFileError, expected, url.path) }
        }
        XCTAssertEqual("\(InputFileError.notRegular(kind: "FIFO"))", "it is a FIFO, not a regular file")
    }

    /// Each reader wraps the reason in its own error, naming the file.
    func testReadersNameTheFileAndWhatItIs() {
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: URL(fileURLWithPath: "/dev/zero"))) {
            XCTAssertEqual($0 as? SafetensorsError,
                           .unreadable(path: "/dev/zero", reason: "it is a character device, not a regular file"))
        }
        XCTAssertThrowsError(try ModelConfiguration(contentsOf: parent)) {
            XCTAssertEqual("\($0)", "cannot read model configuration \(parent.path): it is a directory, not a file")
        }
    }
}
