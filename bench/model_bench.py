"""What a model adds to a scan: the model detector alone, and end to end with and without it.

    .venv/bin/python bench/model_bench.py                     # the packaged default model
    .venv/bin/python bench/model_bench.py --model out/models  # a registry's champion
    .venv/bin/python bench/model_bench.py --per-corpus 200 --json out/model_bench.json

On the same mix of the shared corpora as bench/scan_bench.py (pinned to one core, a warm-up
pass first, the median of `--repeat` passes kept):

* ``model detector``: `ModelDetector.score(values)` on a message whose rules already ran —
  reading the signals the trees use that the rules did not (computed on demand), the trees,
  the text model, the blend and, for flagged messages, the attribution. This is what the model
  adds to a scan.
* ``  of which trees + text``: the same without the signals (all already computed).
* ``end-to-end rules`` / ``end-to-end rules + model``: `Engine.scan`, bytes to verdict.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import orjson
from latency import HEADER, pinned_corpus_mix, row, summary  # bench/ is on sys.path

from mailwarden.detectors.model import ModelDetector, load_model_detectors
from mailwarden.engine import Engine


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default", help="model or registry dir, or default")
    parser.add_argument("--per-corpus", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    mix = pinned_corpus_mix(args.per_corpus)
    if mix is None:
        return 0
    (detector,) = load_model_detectors(args.model)
    if not isinstance(detector, ModelDetector):
        print(f"model unavailable: {detector.score.__self__.reason}")  # type: ignore[attr-defined]
        return 1
    rules = Engine()
    both = Engine(model=detector)
    for message in mix:  # warm-up
        rules.scan(message.raw)
        both.scan(message.raw)

    results: dict[str, list[float]] = {}
    passes = []
    for _ in range(args.repeat):
        timings: dict[str, list[float]] = {k: [] for k in ("model", "predict", "rules", "both")}
        for message in mix:
            _, values = rules.explain(message.raw)
            assert values is not None
            start = time.perf_counter_ns()
            detector.score(values)
            timings["model"].append((time.perf_counter_ns() - start) / 1000)
            start = time.perf_counter_ns()  # again: every signal is now cached
            detector.score(values)
            timings["predict"].append((time.perf_counter_ns() - start) / 1000)
            start = time.perf_counter_ns()
            rules.scan(message.raw)
            timings["rules"].append((time.perf_counter_ns() - start) / 1000)
            start = time.perf_counter_ns()
            both.scan(message.raw)
            timings["both"].append((time.perf_counter_ns() - start) / 1000)
        passes.append(timings)
    passes.sort(key=lambda t: statistics.median(t["model"]))
    results = passes[len(passes) // 2]
    labels = {
        "model": "model detector",
        "predict": "  of which trees + text",
        "rules": "end-to-end rules",
        "both": "end-to-end rules + model",
    }
    print(f"{len(mix)} messages; model {detector.bundle.name} {detector.bundle.version}")
    print(HEADER)
    for key, label in labels.items():
        print(row(label, results[key]))
    if args.json:
        report = {
            "messages": len(mix),
            "model": detector.bundle.version,
            **{key: summary(values) for key, values in results.items()},
        }
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
