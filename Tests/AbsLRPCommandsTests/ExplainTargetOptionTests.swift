import ArgumentParser
import XCTest
@testable import AbsLRPCore
@testable import AbsLRPCommands

/// `--target` (indices, names, lists, repeated), `--top-k`, `--json`, `--version`.
final class ExplainTargetOptionTests: XCTestCase {
    private func command(_ arguments: [String]) throws -> ExplainCommand {
        try XCTUnwrap(try AbsLRPTool.parseAsRoot(["explain", "x.png"] + arguments) as? ExplainCommand)
    }

    private var fashion: ModelConfiguration {
        var c = try! ModelConfiguration(json: ["architecture": "resnet", "model_args": [
            "block": "basic", "layers": [1, 1, 1, 1], "channels": [8, 8, 8, 8], "in_chans": 1, "num_classes": 10],
            "input_size": [1, 28, 28]], name: "fashion")
        c.labelNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        return c
    }

    func testTargetsAreIndicesNamesAndListsThatAccumulate() throws {
        let c = try command(["--target", "Sandal,sneaker", "--target", "7", "--target", "t-shirt_top,3"])
        XCTAssertEqual(try c.targetSelection(for: fashion), .classes([5, 7, 0, 3]), "Sneaker and 7 once")
        XCTAssertEqual(try command([]).targetSelection(for: fashion), .predicted)
        XCTAssertEqual(try command(["--top-k", "3"]).targetSelection(for: fashion), .topK(3))
    }

    func testUnknownClassNameIsRefusedWithTheModelsClasses() throws {
        XCTAssertThrowsError(try command(["--target", "Sandals"]).targetSelection(for: fashion)) { error in
            XCTAssertTrue("\(error)".contains("'Sandals' is neither a class index nor a class name"), "\(error)")
            XCTAssertTrue("\(error)".contains("Ankle boot"), "\(error)")
        }
    }

    func testBadCombinationsAreRefused() {
        for (arguments, expected) in [(["--target", "5", "--top-k", "2"], "give --target or --top-k, not both"),
                                      (["--top-k", "0"], "--top-k must be at least 1, got 0"),
                                      (["--target", "5,,7"], "--target '5,,7' has an empty class")] {
            XCTAssertThrowsError(try AbsLRPTool.parseAsRoot(["explain", "x.png"] + arguments)) { error in
                XCTAssertTrue(AbsLRPTool.message(for: error).contains(expected), AbsLRPTool.message(for: error))
            }
        }
    }

    func testVersionIsPrinted() {
        XCTAssertThrowsError(try AbsLRPTool.parseAsRoot(["--version"])) { error in
            XCTAssertEqual(AbsLRPTool.message(for: error), AbsLRPTool.version)
        }
    }

    func testJSONLineCarriesFileTopFiveTargetsAndOutputs() throws {
        let predictions = [Prediction(classIndex: 7, label: "Sneaker", probability: 0.9)]
        let row = ExplainJob.Result(name: "s", source: "/x/s.png", predictions: predictions, target: 5,
                                    picture: URL(fileURLWithPath: "/o/s.m.abslrp.class5.png"), warning: nil)
        let line = ExplainLine(source: "/x/s.png", name: "s", predictions: predictions, rows: [row], configuration: fashion).json
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        XCTAssertEqual(object["file"] as? String, "/x/s.png")
        XCTAssertEqual(object["targets"] as? [Int], [5])
        XCTAssertEqual(((object["top5"] as? [[String: Any]])?.first?["index"]) as? Int, 7)
        let output = try XCTUnwrap((object["outputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(output["target_name"] as? String, "Sandal")
        XCTAssertEqual(output["picture"] as? String, "/o/s.m.abslrp.class5.png")
        XCTAssertFalse(line.contains("\n"))
    }
}
