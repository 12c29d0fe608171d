import Foundation
import XCTest
@testable import AbsLRPCore

/// `InputFile`, the one reader of the files a user names: a regular file
/// is read; a missing path, a folder, a device and a FIFO are typed errors
/// from `stat`, before anything is opened (so the FIFO cannot block); a
/// file cut or grown while it is open is a typed error, never a fault.
final class InputFileTests: TemporaryFolderTestCase {
    func testOnlyRegularFilesAreRead() throws {
        let file = parent.appendingPathComponent("f.json"), fifo = parent.appendingPathComponent("fifo")
        try Data("{}".utf8).write(to: file)
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertEqual(try InputFile.contents(of: file), Data("{}".utf8))
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

    /// `InputFileReader` reads with `pread`: a file cut after it was opened
    /// gives `changedSize` for the bytes it lost (a mapping would SIGBUS),
    /// the bytes it kept still read, and `requireUnchangedSize` names a cut
    /// or an append.
    func testAFileCutOrGrownWhileOpenIsATypedError() throws {
        let url = parent.appendingPathComponent("f.bin")
        try Data((0..<20_000).map { UInt8($0 % 251) }).write(to: url)
        let file = try InputFileReader(url)
        XCTAssertEqual(file.size, 20_000)
        XCTAssertEqual(truncate(url.path, 5000), 0)
        XCTAssertEqual(try file.bytes(4990..<5000), Data((4990..<5000).map { UInt8($0 % 251) }))
        XCTAssertThrowsError(try file.bytes(4000..<12_000)) {
            XCTAssertEqual($0 as? InputFileError, .changedSize(from: 20_000, to: 5000))
            XCTAssertEqual("\($0)", "it changed from 20000 to 5000 bytes while it was read (another process is writing it)")
        }
        XCTAssertThrowsError(try file.requireUnchangedSize()) {
            XCTAssertEqual($0 as? InputFileError, .changedSize(from: 20_000, to: 5000))
        }
        XCTAssertEqual(truncate(url.path, 30_000), 0)
        XCTAssertThrowsError(try file.requireUnchangedSize()) {
            XCTAssertEqual($0 as? InputFileError, .changedSize(from: 20_000, to: 30_000))
        }
        XCTAssertNoThrow(try InputFileReader(url).requireUnchangedSize())
    }

    /// A safetensors file cut by another process while it is open: reading a
    /// tensor whose bytes it lost is `SafetensorsError.unreadable` naming the
    /// change (the file was mapped once, and this was a SIGBUS).
    func testASafetensorsFileCutWhileOpenIsAClearError() throws {
        let url = parent.appendingPathComponent("w.safetensors")
        let big = Tensor(shape: [3, 1 << 18]) { Float($0) }  // 3 MB: three blocks of the reader
        try SafetensorsWriter.write(tensors: ["a": Tensor(shape: [2], storage: [1, 2]), "b": big], to: url)
        let weights = try SafetensorsFile(contentsOf: url)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        XCTAssertEqual(truncate(url.path, off_t(size / 2)), 0)
        XCTAssertEqual(try weights.tensor("a").storage, [1, 2], "the bytes before the cut still read")
        XCTAssertThrowsError(try weights.tensor("b")) {
            XCTAssertEqual($0 as? SafetensorsError, .unreadable(
                path: url.path, reason: "it changed from \(size) to \(size / 2) bytes while it was read (another process is writing it)"))
        }
    }
}
