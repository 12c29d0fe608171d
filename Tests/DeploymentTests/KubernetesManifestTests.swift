import Foundation
import XCTest
import Yams

/// `deploy/kubernetes/gae-job.yaml` and `gae-merge-job.yaml` (documented in
/// docs/gae-scale-out.md; there is no cluster here): the fields an indexed
/// GAE Job must carry, and what their shell commands run, with `abslrp`
/// replaced by a script that prints its arguments.
final class KubernetesManifestTests: XCTestCase {
    private static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/kubernetes")

    private struct MissingField: Error, CustomStringConvertible {
        let path: String
        var description: String { "the manifest has no \(path)" }
    }

    private func manifest(_ name: String) throws -> [String: Any] {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        return try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any], "\(name) is not one YAML mapping")
    }

    /// The value at a dotted path (`spec.template.spec.containers.0`; integers index lists).
    private func value<T>(_ root: Any, _ path: String, as type: T.Type = T.self) throws -> T {
        var node = root
        for key in path.split(separator: ".") {
            if let index = Int(key), let list = node as? [Any], list.indices.contains(index) {
                node = list[index]
            } else if let map = node as? [String: Any], let next = map[String(key)] {
                node = next
            } else {
                throw MissingField(path: path)
            }
        }
        guard let typed = node as? T else { throw MissingField(path: "\(path) of type \(T.self) (found \(node))") }
        return typed
    }

    /// The container's environment as a dictionary.
    private func environment(_ container: Any) throws -> [String: String] {
        let list: [[String: Any]] = try value(container, "env")
        return Dictionary(uniqueKeysWithValues: try list.map { (try value($0, "name"), try value($0, "value")) })
    }

    /// Runs the container's `command` + `args` with `environment`, `abslrp`
    /// being a script that prints one argument per line.
    private func run(_ container: Any, environment: [String: String]) throws -> [String] {
        let command: [String] = try value(container, "command"), args: [String] = try value(container, "args")
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: bin) }
        let fake = bin.appendingPathComponent("abslrp")
        try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n".write(to: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
        let process = Process(), output = Pipe()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + args
        process.environment = environment.merging(["PATH": "\(bin.path):/usr/bin:/bin"]) { $1 }
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func testIndexedJobRunsOneResumableShardPerIndex() throws {
        let job = try manifest("gae-job.yaml")
        XCTAssertEqual(try value(job, "apiVersion", as: String.self), "batch/v1")
        XCTAssertEqual(try value(job, "kind", as: String.self), "Job")
        XCTAssertEqual(try value(job, "spec.completionMode", as: String.self), "Indexed")
        let completions: Int = try value(job, "spec.completions"), parallelism: Int = try value(job, "spec.parallelism")
        XCTAssertGreaterThanOrEqual(completions, 1)
        XCTAssertTrue((1...completions).contains(parallelism), "parallelism \(parallelism)")

        // Retries per shard; disruptions do not count; usage errors are final.
        XCTAssertGreaterThanOrEqual(try value(job, "spec.backoffLimitPerIndex", as: Int.self), 1)
        let rules: [[String: Any]] = try value(job, "spec.podFailurePolicy.rules")
        XCTAssertTrue(try rules.contains {
            try value($0, "action", as: String.self) == "Ignore"
                && (try value($0, "onPodConditions", as: [[String: Any]].self)).contains { ($0["type"] as? String) == "DisruptionTarget" }
        }, "a DisruptionTarget rule that ignores preemption")
        XCTAssertEqual(try value(job, "spec.template.spec.restartPolicy", as: String.self), "Never",
                       "a retry must be a new pod (podFailurePolicy needs Never)")

        let container: [String: Any] = try value(job, "spec.template.spec.containers.0")
        let env = try environment(container)
        XCTAssertEqual(env["SHARD_COUNT"], "\(completions)", "one shard per completion index")
        let cpu: String = try value(container, "resources.requests.cpu")
        XCTAssertEqual(env["OPENBLAS_NUM_THREADS"], cpu, "one BLAS thread per requested CPU")
        XCTAssertFalse(try value(container, "resources.requests.memory", as: String.self).isEmpty)
        XCTAssertFalse(try value(container, "resources.limits.memory", as: String.self).isEmpty)

        // The results volume is writable and shared by every pod.
        let mounts: [[String: Any]] = try value(container, "volumeMounts")
        let results = try XCTUnwrap(mounts.first { ($0["mountPath"] as? String) == "/results" }, "a /results mount")
        XCTAssertNotEqual(results["readOnly"] as? Bool, true)

        let arguments = try run(container, environment: env.merging(["JOB_COMPLETION_INDEX": "5"]) { $1 })
        XCTAssertEqual(arguments.first, "evaluate")
        func after(_ option: String) -> String? {
            arguments.firstIndex(of: option).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        }
        XCTAssertEqual(after("--shard"), "5/\(completions)")
        XCTAssertEqual(after("--out"), "/results/shard-5")
        XCTAssertTrue(arguments.contains("--resume"))
    }

    func testMergeJobMergesEveryShardOfTheIndexedJob() throws {
        let job = try manifest("gae-job.yaml"), merge = try manifest("gae-merge-job.yaml")
        let completions: Int = try value(job, "spec.completions")
        XCTAssertEqual(try value(merge, "kind", as: String.self), "Job")
        XCTAssertEqual(try value(merge, "spec.template.spec.restartPolicy", as: String.self), "Never")
        let claim = { (manifest: [String: Any]) throws -> String? in
            let volumes: [[String: Any]] = try self.value(manifest, "spec.template.spec.volumes")
            let results = volumes.first { ($0["name"] as? String) == "results" }
            return try results.map { try self.value($0, "persistentVolumeClaim.claimName") }
        }
        XCTAssertEqual(try claim(merge), try claim(job), "the merge reads the shards' volume")
        let container: [String: Any] = try value(merge, "spec.template.spec.containers.0")
        let arguments = try run(container, environment: try environment(container))
        XCTAssertEqual(arguments, ["merge"] + (0..<completions).map { "/results/shard-\($0)" } + ["--out", "/results"])
    }
}
