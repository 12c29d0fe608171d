#!/usr/bin/env python3
"""Side-by-side speed of the PyTorch reference and `abslrp`, run alternately.

Dev-only (run by scripts/compare-reference.sh; needs the environment of
../shared/tools/pytorch-cpu-env.sh plus matplotlib, and a checkout of the
reference on PYTHONPATH). Nothing in the Swift package depends on it.

    compare_reference.py run --abslrp BIN --work DIR [--rounds N] [--iterations N]
        [--models M ...] [--batches B ...] [--gae-models M ...] [--gae-images N] [--gae-vit-images N]
        [--gae-batch N] [--gae-vit-batch N] [--gae-steps N] [--markdown FILE]
    compare_reference.py render --work DIR [--markdown FILE]   (the tables from DIR/measurements.jsonl)
    compare_reference.py reference-bench MODEL WEIGHTS INPUT ITERATIONS   (one process)
    compare_reference.py reference-gae MODEL WEIGHTS DATASET BATCH STEPS  (one process)

`run` writes, per model, timm's randomly initialised weights (seed 0) as
safetensors and random normal inputs (seed 1), then for each round runs the
reference and `abslrp bench` (and later `evaluate`) one after the other, each
in its own process, on those same files. Each process reports the median of
ITERATIONS timed runs after one untimed one; ratios are taken per round (the
two runs of a round are seconds apart, under the same load) and their median
is reported. Peak memory is the process's maximum resident set (VmHWM /
ru_maxrss): for the relevance runs read at their end, before `abslrp bench`
measures sgemm; for GAE, of the whole process (/usr/bin/time -v).

The honest limit's fraction (`fractionOfLimit`) counts every product as a
direct product at the peak sgemm rate, as issue 17 defines it; convolutions
that the code computes with Winograd multiply less, so it can exceed 100%
(the column next to it gives the share of the count computed that way,
`products.winograd`).

Next to each ratio reached, the table shows issue 17's target and the
ceiling: the reference's time divided by our shape-exact limit from the same
round's `abslrp bench --json` (`shapeExact`: each product absLRP needs timed
on its exact shape through the kernel our code computes it with, oneDNN's
primitive for a convolution or a Linear's forward and OpenBLAS's sgemm for the
rest, each on both cores the faster way), i.e. the best ratio our code could reach in that round
with those kernels and nothing but the products. For GAE the ceiling is the bench's `gae.limitImagesPerSecond` (median
over the rounds of that model, preferring batch GAE_BATCH/4, the size of
GAE's masked batches) over the reference's images/s.
"""
import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODELS = ["resnet50", "vgg16", "vit_base_patch16_224"]
# issue 17's targets, as ratios to the reference: (absLRP, forward, GAE throughput)
TARGETS = {"resnet50": (4, 1, 3), "vgg16": (3, 1, None), "vit_base_patch16_224": (1.5, 1, 1.5)}


def reference_model(name, weights):
    import copy

    import timm
    import torch
    from safetensors.torch import load_file

    from abslrp_gae.abslrp.rules.models import ResNetAbsLRPRule, VGGAbsLRPRule, VisionTransformerAbsLRPRule

    model = timm.create_model(name, pretrained=False)
    model.load_state_dict(load_file(weights))
    model.eval()
    explained = copy.deepcopy(model)
    rule = next(r for prefix, r in [("resnet", ResNetAbsLRPRule), ("vgg", VGGAbsLRPRule),
                                    ("vit", VisionTransformerAbsLRPRule)] if name.startswith(prefix))
    rule().apply(explained)
    explained.eval()
    torch.set_num_threads(os.cpu_count())
    return model, explained


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median_time(body, iterations):
    body()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_bench(args):
    import torch
    from safetensors.torch import load_file

    from abslrp_gae.abslrp.relevancy_methods import AbsLRPRelevancyMethod

    model, explained = reference_model(args.model, args.weights)
    x = load_file(args.input)["input"]
    method = AbsLRPRelevancyMethod(explained, "cpu")

    def forward():
        with torch.no_grad():
            model(x)

    forward_seconds = median_time(forward, args.iterations)
    relevance_seconds = median_time(lambda: method.relevancy(x), args.iterations)
    images = x.shape[0]
    print(json.dumps({"forwardSecondsPerImage": forward_seconds / images,
                      "relevanceSecondsPerImage": relevance_seconds / images,
                      "peakResidentBytes": peak_rss_bytes(), "threads": torch.get_num_threads()}))


def reference_gae(args):
    import torch
    from safetensors.torch import load_file
    from torch.utils.data import TensorDataset

    from abslrp_gae.abslrp.relevancy_methods import AbsLRPRelevancyMethod
    from abslrp_gae.gae.gae import GlobalEvaluationMetric

    model, explained = reference_model(args.model, args.weights)
    data = load_file(args.dataset)
    dataset = TensorDataset(data["input"], data["label"])
    torch.manual_seed(0)
    metric = GlobalEvaluationMetric(num_masking_steps=args.steps, device="cpu")
    start = time.perf_counter()
    metric.run(relevancy_methods={"abslrp": AbsLRPRelevancyMethod(explained, "cpu")}, model=model,
               dataset=dataset, batch_size=args.batch)
    seconds = time.perf_counter() - start
    images = (len(dataset) // args.batch) * args.batch
    print(json.dumps({"images": images, "seconds": seconds, "imagesPerSecond": images / seconds}))


def timed_process(command, env=None):
    """Runs `command` under /usr/bin/time -v; returns (stdout, max RSS bytes)."""
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return result.stdout, int(rss.group(1)) * 1024 if rss else 0


def last_json(text):
    """The JSON object a process printed (its stdout holds nothing else)."""
    return json.loads(text[text.index("{"):])


def prepare(work, models, batches, gae_counts):
    import timm
    import torch
    from safetensors.torch import save_file

    work.mkdir(parents=True, exist_ok=True)
    for name in models:
        weights = work / f"{name}.safetensors"
        if not weights.exists():
            torch.manual_seed(0)
            model = timm.create_model(name, pretrained=False).eval()
            save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(weights))
    generator = torch.Generator().manual_seed(1)
    for batch in batches:
        path = work / f"input-b{batch}.safetensors"
        if not path.exists():
            save_file({"input": torch.randn(batch, 3, 224, 224, generator=generator)}, str(path))
    for count in set(gae_counts):
        path = work / f"gae-{count}.safetensors"
        if not path.exists():
            save_file({"input": torch.randn(count, 3, 224, 224, generator=generator),
                       "label": torch.randint(0, 1000, (count,), generator=generator)}, str(path))


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    import torch
    return (f"{os.cpu_count()} cores of \"{cpu}\", {mem / 2**20:.0f} GiB, {platform.platform()}; "
            f"reference: torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}")


def run(args):
    work = Path(args.work).resolve()
    models = args.models
    gae_models = [m for m in models if m in args.gae_models]
    gae_count = {m: (args.gae_vit_images if m.startswith("vit") else args.gae_images) for m in gae_models}
    gae_batch = {m: (args.gae_vit_batch if m.startswith("vit") else args.gae_batch) for m in gae_models}
    prepare(work, models, args.batches, list(gae_count.values()))
    me = [sys.executable, os.path.abspath(__file__)]
    log = work / "measurements.jsonl"  # every measurement, as it is made; `render` rebuilds the tables from it

    def record(entry):
        with open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    for model in models:
        weights = str(work / f"{model}.safetensors")
        for batch in args.batches:
            inputs = str(work / f"input-b{batch}.safetensors")
            for r in range(args.rounds):
                print(f"[{time.strftime('%H:%M:%S')}] {model} batch {batch} round {r + 1}: reference", file=sys.stderr)
                ref = last_json(timed_process(me + ["reference-bench", model, weights, inputs, str(args.iterations)])[0])
                print(f"[{time.strftime('%H:%M:%S')}] {model} batch {batch} round {r + 1}: abslrp", file=sys.stderr)
                ours = last_json(timed_process([args.abslrp, "bench", "--model", model, "--weights", weights,
                                                "--tensor", inputs, "--iterations", str(args.iterations),
                                                "--gae-steps", str(args.gae_steps), "--json"])[0])
                record({"kind": "relevance", "model": model, "batch": batch, "reference": ref, "ours": ours})
                print(f"    relevance {ref['relevanceSecondsPerImage']:.3f} vs {ours['relevanceSecondsPerImage']:.3f} s/image",
                      file=sys.stderr)
        if model in gae_models:
            data, count, batch = str(work / f"gae-{gae_count[model]}.safetensors"), gae_count[model], gae_batch[model]
            print(f"[{time.strftime('%H:%M:%S')}] {model} GAE ({count} images): reference", file=sys.stderr)
            out, ref_rss = timed_process(me + ["reference-gae", model, weights, data, str(batch), str(args.gae_steps)])
            ref = last_json(out)
            print(f"[{time.strftime('%H:%M:%S')}] {model} GAE ({count} images): abslrp", file=sys.stderr)
            out, our_rss = timed_process([args.abslrp, "evaluate", "--model", model, "--weights", weights, "--dataset", data,
                                          "--methods", "abslrp", "--batch-size", str(batch), "--steps",
                                          str(args.gae_steps), "--out", str(work / f"evaluate-{model}")])
            ours = re.search(r"(\d+) images in ([\d.]+) s \(([\d.]+) images/s\)", out)
            record({"kind": "gae", "model": model, "images": count, "batch": batch, "steps": args.gae_steps,
                    "reference": ref["imagesPerSecond"], "ours": float(ours.group(3)),
                    "referenceRSS": ref_rss, "oursRSS": our_rss})
    render_log(args)


def render_log(args):
    """Tables of every measurement in WORK/measurements.jsonl, printed and written to --markdown."""
    entries = [json.loads(line) for line in open(Path(args.work) / "measurements.jsonl")]
    rows = {}
    for e in entries:
        if e["kind"] == "relevance":
            rows.setdefault((e["model"], e["batch"]), []).append((e["reference"], e["ours"]))
    gae_rows = [(e["model"], e["images"], e["batch"], e["reference"], e["ours"], e["referenceRSS"], e["oursRSS"],
                 gae_limit(rows, e["model"], e["batch"], e["steps"]))
                for e in entries if e["kind"] == "gae"]
    table = render([(m, b, r) for (m, b), r in rows.items()], gae_rows, args)
    print(table)
    if args.markdown:
        write_section(Path(args.markdown), table)


def gae_limit(rows, model, batch, steps):
    """Our GAE limit, images/s: the median `gae.limitImagesPerSecond` of `model`'s bench runs
    for `steps` steps, from those at batch `batch // 4` when there are any; None without any."""
    def limits(b=None):
        return [o["gae"]["limitImagesPerSecond"] for (m, bb), rounds in rows.items() if m == model and b in (None, bb)
                for _, o in rounds if o.get("gae", {}).get("steps") == steps]
    found = limits(batch // 4) or limits()
    return statistics.median(found) if found else None


def ratio_cell(value):
    return "-" if value is None else f"{value:.2f}x"


def render(rows, gae_rows, args):
    med = statistics.median

    def ceiling(rounds, ours_limit, reference_key):
        """Median over rounds of the reference's time / our shape-exact limit (None without one)."""
        values = [r[reference_key] / ours_limit(o) for r, o in rounds if "shapeExact" in o]
        return med(values) if values else None

    lines = [f"Machine: {machine()}.", "",
             f"Each cell is the median over the rounds measured; in a round the reference and `abslrp` run one after the "
             f"other, each in its own process, each timing {args.iterations} run(s) after a warm-up. Ratios = reference time / "
             "ours, per round, then the median. Peak RSS: VmHWM at the end of the relevance runs.", "",
             "| model | batch | absLRP s/image: reference | ours | ratio | forward s/image: reference | ours | ratio "
             "| peak RSS GB: reference | ours | fraction of the honest limit (ours) | of its count on Winograd |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ceilings = []
    for model, batch, rounds in rows:
        rr = med([r["relevanceSecondsPerImage"] for r, _ in rounds])
        ro = med([o["relevanceSecondsPerImage"] for _, o in rounds])
        fr = med([r["forwardSecondsPerImage"] for r, _ in rounds])
        fo = med([o["forwardSecondsPerImage"] for _, o in rounds])
        ratio = med([r["relevanceSecondsPerImage"] / o["relevanceSecondsPerImage"] for r, o in rounds])
        fratio = med([r["forwardSecondsPerImage"] / o["forwardSecondsPerImage"] for r, o in rounds])
        mr = max(r["peakResidentBytes"] for r, _ in rounds) / 1e9
        mo = max(o["peakResidentBytes"] for _, o in rounds) / 1e9
        frac = med([o["fractionOfLimit"] for _, o in rounds])
        winograd = [o["products"]["winograd"] / o["limitGFLOPPerImage"] for _, o in rounds if "winograd" in o["products"]]
        lines.append(f"| {model} | {batch} | {rr:.3f} | {ro:.3f} | {ratio:.2f}x | {fr:.3f} | {fo:.3f} | {fratio:.2f}x "
                     f"| {mr:.2f} | {mo:.2f} | {100 * frac:.0f}% | {f'{100 * med(winograd):.0f}%' if winograd else '-'} |")
        exact = [o for _, o in rounds if "shapeExact" in o]
        target = TARGETS.get(model, (None, None, None))
        ceilings.append(
            f"| {model} | {batch} | {ratio_cell(target[0])} | {ratio:.2f}x "
            f"| {ratio_cell(ceiling(rounds, lambda o: o['shapeExact']['absLRPSecondsPerImage'], 'relevanceSecondsPerImage'))} "
            f"| {ratio_cell(target[1])} | {fratio:.2f}x "
            f"| {ratio_cell(ceiling(rounds, lambda o: o['shapeExact']['forwardSecondsPerImage'], 'forwardSecondsPerImage'))} "
            + (f"| {med([o['shapeExact']['absLRPSecondsPerImage'] for o in exact]):.3f} "
               f"| {med([o['shapeExact']['absLRPGFLOPS'] for o in exact]):.0f} "
               f"| {100 * med([o['fractionOfShapeExactLimit'] for o in exact]):.0f}% |" if exact else "| - | - | - |"))
    lines += ["", "The honest limit counts every product as a direct product at the peak sgemm rate (issue 17); "
              "convolutions computed with Winograd multiply less, so its fraction can exceed 100% (last column: the "
              "share of the count computed that way).", "",
              "Targets (issue 17), ratios reached, and ceilings: the reference's time over our shape-exact limit "
              "(`abslrp bench`'s `shapeExact`, same round: each of absLRP's products timed on its exact shape through "
              "the kernel our code computes it with, oneDNN's primitive for a convolution or a Linear's forward, "
              "OpenBLAS's sgemm for the rest, each on both cores the faster way), the best ratio our code could reach with those kernels.", "",
              "| model | batch | absLRP: target | reached | ceiling | forward: target | reached | ceiling "
              "| shape-exact limit s/image | its GFLOP/s | fraction of it reached |",
              "|---|---|---|---|---|---|---|---|---|---|---|"] + ceilings
    if gae_rows:
        lines += ["", f"GAE (absLRP, {args.gae_steps} masking steps, one run each, reference first; "
                  "max RSS of the whole process from /usr/bin/time -v; ceiling = our GAE limit from the shape-exact "
                  "limits (`abslrp bench`'s `gae`) / the reference's images/s):", "",
                  "| model | images | batch | reference images/s | ours | target | ratio | ceiling "
                  "| reference max RSS GB | ours |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for model, count, batch, ref, ours, ref_rss, our_rss, limit in gae_rows:
            lines.append(f"| {model} | {count} | {batch} | {ref:.3f} | {ours:.3f} | {ratio_cell(TARGETS.get(model, (0, 0, None))[2])} "
                         f"| {ours / ref:.2f}x | {ratio_cell(None if limit is None else limit / ref)} "
                         f"| {ref_rss / 1e9:.2f} | {our_rss / 1e9:.2f} |")
    return "\n".join(lines)


BEGIN, END = "<!-- compare-reference: begin -->", "<!-- compare-reference: end -->"


def write_section(path, table):
    """Replaces the marked section of `path` (appends it when missing)."""
    command = " ".join([f"{k}={os.environ[k]!r}" if " " in os.environ[k] else f"{k}={os.environ[k]}" for k in
                                                                 ("ROUNDS", "ITERATIONS", "GAE_IMAGES", "GAE_VIT_IMAGES",
                                                                  "GAE_VIT_BATCH", "GAE_BATCH", "GAE_MODELS", "MODELS", "BATCHES")
                                                                 if k in os.environ] + ["bash scripts/compare-reference.sh REFERENCE"])
    section = f"{BEGIN}\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}`.\n\n{table}\n{END}"
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--abslrp", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--iterations", type=int, default=3)
    r.add_argument("--models", nargs="+", default=MODELS)
    r.add_argument("--batches", nargs="+", type=int, default=[4, 1])
    r.add_argument("--gae-models", nargs="*", default=["resnet50", "vit_base_patch16_224"])
    r.add_argument("--gae-images", type=int, default=32)
    r.add_argument("--gae-vit-images", type=int, default=32)
    r.add_argument("--gae-batch", type=int, default=16)
    r.add_argument("--gae-vit-batch", type=int, default=16)
    r.add_argument("--gae-steps", type=int, default=10)
    r.add_argument("--markdown")
    t = sub.add_parser("render")
    t.add_argument("--work", required=True)
    t.add_argument("--iterations", type=int, default=3)
    t.add_argument("--gae-steps", type=int, default=10)
    t.add_argument("--markdown")
    b = sub.add_parser("reference-bench")
    for name in ("model", "weights", "input"):
        b.add_argument(name)
    b.add_argument("iterations", type=int)
    g = sub.add_parser("reference-gae")
    for name in ("model", "weights", "dataset"):
        g.add_argument(name)
    g.add_argument("batch", type=int)
    g.add_argument("steps", type=int)
    args = parser.parse_args()
    {"run": run, "render": render_log, "reference-bench": reference_bench, "reference-gae": reference_gae}[args.command](args)


if __name__ == "__main__":
    main()
