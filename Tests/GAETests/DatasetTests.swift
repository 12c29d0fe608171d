import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// The four data-set kinds: image folder, IDX (gzipped or not), CSV, safetensors.
final class DatasetTests: XCTestCase {
    private let fm = FileManager.default
    private let rgbPNG = Fixtures.url("images/rgb_77x53.png"), grayJPEG = Fixtures.url("images/gray_128x96.jpg")
    private let preprocessing = PreprocessingConfig(resizeSize: .init(36), cropSize: .init(32),
                                                    mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
    /// 28x28 grey, no resize and no normalisation: the bytes / 255.
    private let identityGray = PreprocessingConfig(resizeSize: .init(28), cropSize: .init(28), mean: [0], std: [1], channels: 1)
    private let fashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    private func copy(_ source: URL, to destination: URL) throws {
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(at: source, to: destination)
    }

    func testImageFolderListsLikeTorchvision() throws {
        let root = Fixtures.temporaryDirectory()
        defer { try? fm.removeItem(at: root) }
        try copy(rgbPNG, to: root.appendingPathComponent("b_class/z.png"))
        try copy(grayJPEG, to: root.appendingPathComponent("b_class/a.JPG"))
        try copy(rgbPNG, to: root.appendingPathComponent("a_class/sub/x.png"))
        try copy(grayJPEG, to: root.appendingPathComponent("a_class/y.jpeg"))
        try copy(rgbPNG, to: root.appendingPathComponent("C_upper/k.png"))
        try Data("not an image".utf8).write(to: root.appendingPathComponent("a_class/notes.txt"))
        try Data().write(to: root.appendingPathComponent("loose_file.png"))  // not in a class folder

        let dataset = try ImageFolderDataset(root: root, preprocessing: preprocessing)
        XCTAssertEqual(dataset.classes, ["C_upper", "a_class", "b_class"], "code-point order, as Python sorts")
        XCTAssertEqual(dataset.items.map { $0.url.path.replacingOccurrences(of: root.path + "/", with: "") },
                       ["C_upper/k.png", "a_class/y.jpeg", "a_class/sub/x.png", "b_class/a.JPG", "b_class/z.png"])
        XCTAssertEqual(dataset.items.map(\.label), [0, 1, 1, 2, 2])
        let (image, label) = try dataset.image(at: 3)
        XCTAssertEqual(label, 2)
        XCTAssertEqual(image, preprocessing.preprocess(try RGBImage.decode(contentsOf: grayJPEG)))
        XCTAssertEqual(dataset.itemName(at: 0), root.appendingPathComponent("C_upper/k.png").path)
    }

    func testImageFolderErrors() throws {
        let root = Fixtures.temporaryDirectory()
        defer { try? fm.removeItem(at: root) }
        XCTAssertThrowsError(try ImageFolderDataset(root: root, preprocessing: preprocessing)) { error in
            XCTAssertTrue("\(error)".contains("no class subfolders"), "\(error)")
        }
        try fm.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try copy(rgbPNG, to: root.appendingPathComponent("full/a.png"))
        XCTAssertThrowsError(try ImageFolderDataset(root: root, preprocessing: preprocessing)) { error in
            XCTAssertTrue("\(error)".contains("no image file for class empty"), "\(error)")
        }
        XCTAssertThrowsError(try ImageFolderDataset(root: root.appendingPathComponent("full/a.png"), preprocessing: preprocessing))
    }

    func testFashionMNISTGzipped() throws {
        let images = fashionMNIST.appendingPathComponent("t10k-images-idx3-ubyte.gz")
        guard fm.fileExists(atPath: images.path) else { throw XCTSkip("Fashion-MNIST is not installed") }
        let dataset = try IDXDataset(images: images, labels: fashionMNIST.appendingPathComponent("t10k-labels-idx1-ubyte.gz"),
                                     preprocessing: identityGray)
        XCTAssertEqual(dataset.count, 10_000)
        XCTAssertEqual(Array(dataset.labels.prefix(8)), [9, 2, 1, 1, 6, 1, 4, 6])
        // Samples/00_tshirt.png is test image 19, saved as 8-bit grey PNG.
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples/00_tshirt.png")
        let (image, label) = try dataset.image(at: 19)
        XCTAssertEqual(label, 0)
        XCTAssertEqual(image, identityGray.preprocess(try RGBImage.decode(contentsOf: sample)))
    }

    /// Uncompressed IDX files, resized and widened to an RGB model's input.
    func testPlainIDXFilesResizedForTheModel() throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? fm.removeItem(at: folder) }
        let pixels: [UInt8] = (0..<(3 * 4 * 6)).map { UInt8($0 * 3) }
        let images = folder.appendingPathComponent("images-idx3-ubyte"), labels = folder.appendingPathComponent("labels-idx1-ubyte")
        try Data([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 6] + pixels).write(to: images)
        try Data([0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 2]).write(to: labels)

        let gray = PreprocessingConfig(resizeSize: .init(height: 4, width: 6), cropSize: .init(height: 4, width: 6),
                                       mean: [0.5], std: [0.5], channels: 1)
        let same = try IDXDataset(images: images, labels: labels, preprocessing: gray)
        XCTAssertEqual(same.labels, [7, 1, 2])
        let (first, _) = try same.image(at: 1)
        XCTAssertEqual(first.shape, [1, 4, 6])
        XCTAssertEqual(first.storage, pixels[24..<48].map { (Float($0) / 255 - 0.5) / 0.5 })

        let rgb = PreprocessingConfig(resizeSize: .init(8), cropSize: .init(8), mean: [0, 0, 0], std: [1, 1, 1])
        let (widened, _) = try IDXDataset(images: images, labels: labels, preprocessing: rgb).image(at: 1)
        XCTAssertEqual(widened.shape, [3, 8, 8])
        let resized = resizeBilinearAntialiased(Tensor(shape: [1, 4, 6], storage: pixels[24..<48].map { Float($0) / 255 }),
                                                height: 8, width: 8)
        XCTAssertEqual(widened.storage, resized.storage + resized.storage + resized.storage)

        try Data([0, 0, 8, 1, 0, 0, 0, 2, 7, 1]).write(to: labels)
        XCTAssertThrowsError(try IDXDataset(images: images, labels: labels, preprocessing: gray)) { error in
            XCTAssertTrue("\(error)".contains("2 labels for the 3 images"), "\(error)")
        }
        XCTAssertThrowsError(try IDXDataset(images: labels, labels: labels, preprocessing: gray)) { error in
            XCTAssertTrue("\(error)".contains("not an IDX image file"), "\(error)")
        }
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).write(to: images)  // a damaged gzip stream
        XCTAssertThrowsError(try IDXDataset(images: images, labels: labels, preprocessing: gray))
    }

    func testCSVList() throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? fm.removeItem(at: folder) }
        try copy(rgbPNG, to: folder.appendingPathComponent("pics/a, b.png"))
        let csv = folder.appendingPathComponent("list.csv")
        try "path,label\n\"pics/a, b.png\",3\n\n\(grayJPEG.path),1\n".write(to: csv, atomically: true, encoding: .utf8)
        let dataset = try CSVDataset(csv: csv, preprocessing: preprocessing)
        XCTAssertEqual(dataset.count, 2)
        XCTAssertEqual(dataset.items.map(\.url.path), [folder.appendingPathComponent("pics/a, b.png").path, grayJPEG.path])
        XCTAssertEqual(dataset.items.map(\.label), [3, 1])
        XCTAssertEqual(try dataset.image(at: 0).image, preprocessing.preprocess(try RGBImage.decode(contentsOf: rgbPNG)))

        try "pics/x.png,3\npics/y.png,three\n".write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CSVDataset(csv: csv, preprocessing: preprocessing)) { error in
            XCTAssertTrue("\(error)".contains("line 2: label 'three' must be a class index (an integer >= 0)"), "\(error)")
        }
    }

    /// Every row naming something that is not a readable image file is an
    /// error naming it, at once: a FIFO (which `fopen` waits on forever) and
    /// a device are refused without reading, and an empty path or a NUL
    /// (which would silently cut the path) is refused while reading the list.
    func testCSVPathsThatAreNotImageFilesAreErrors() throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? fm.removeItem(at: folder) }
        try copy(rgbPNG, to: folder.appendingPathComponent("a.png"))
        try fm.createDirectory(at: folder.appendingPathComponent("dir.png"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: folder.appendingPathComponent("loop.png").path, withDestinationPath: "loop.png")
        try fm.createSymbolicLink(atPath: folder.appendingPathComponent("dangling.png").path, withDestinationPath: "none.png")
        XCTAssertEqual(mkfifo(folder.appendingPathComponent("fifo.png").path, 0o600), 0)
        let long = String(repeating: "x", count: 300) + ".png"
        let cases: [(path: String, says: String)] = [
            ("missing.png", "No image file at"), ("dir.png", "it is a directory"), ("loop.png", "Too many levels of symbolic links"),
            ("dangling.png", "No image file at"), ("fifo.png", "not a regular file"), ("/dev/zero", "not a regular file"),
            ("/dev/stdin", "not a regular file"), (long, "File name too long"), ("a.png/x", "No image file at"),
        ]
        let csv = folder.appendingPathComponent("list.csv")
        for (path, says) in cases {
            try "a.png,0\n\(path),1\n".write(to: csv, atomically: true, encoding: .utf8)
            let dataset = try CSVDataset(csv: csv, preprocessing: preprocessing)
            XCTAssertNoThrow(try dataset.image(at: 0))
            let started = Date()
            XCTAssertThrowsError(try dataset.image(at: 1), path) { error in
                XCTAssertTrue("\(error)".contains(dataset.items[1].url.path) && "\(error)".contains(says), "\(path): \(error)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, "\(path) is refused at once, not waited on")
        }
        for (text, says) in [("a.png,0\n,1\n", "line 2: the path is empty"),
                             ("a.png\u{0}.jpg,1\n", "line 1: the path is cut by a NUL character")] {
            try text.write(to: csv, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try CSVDataset(csv: csv, preprocessing: preprocessing)) { error in
                XCTAssertTrue("\(error)".contains(says), "\(error)")
            }
        }
    }

    func testSafetensorsFile() throws {
        let url = Fixtures.url("reference/gae_resnet_mini_b4.expected.safetensors")
        let dataset = try SafetensorsDataset(url: url)
        let input = try SafetensorsFile(contentsOf: url).tensor("input")
        XCTAssertEqual(dataset.count, 8)
        let (image, label) = try dataset.image(at: 5)
        XCTAssertEqual(image.shape, [3, 64, 64])
        XCTAssertEqual(image.storage, input.batchSlice(5..<6).storage)
        XCTAssertEqual(label, 8)
        XCTAssertThrowsError(try SafetensorsDataset(url: Fixtures.url("reference/gae_resnet_mini_b4.weights.safetensors"))) { error in
            XCTAssertTrue("\(error)".contains("no 'input' tensor"), "\(error)")
        }
    }
}
