#!/usr/bin/python3
"""Side-by-side latency of edgerun and ONNX Runtime (onnxruntime-node) on the fixture models.

Both run in the same script run, on the same input shape, thread count, warm-up and iteration
count. Prints a markdown table with the ratio edgerun / ORT (lower is better for edgerun).
Usage:
  bench/compare_ort.py [--threads 1,2] [--warmup 5] [--iterations 30] [--models a,b]
Needs build/bin/edgerun and scripts/fetch_fixtures.sh's cache.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("EDGERUN_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "edgerun"))
DEFAULT_MODELS = ["mobilenet_v2", "resnet18", "resnet50", "efficientnet_b0", "shufflenet_v2_x1_0",
                  "squeezenet1_1", "mobilenet_v3_small", "ppocr_det", "ppocr_rec", "ppocr_cls"]


def input_spec(model_dir):
    import numpy as np
    x = np.load(os.path.join(model_dir, "input.npy"), mmap_mode="r")
    import onnx
    m = onnx.load(os.path.join(model_dir, "model.onnx"), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    name = [i.name for i in m.graph.input if i.name not in inits][0]
    return name, "x".join(str(d) for d in x.shape)


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1] if out.strip().startswith("{\"runtime") else out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgerun", default=os.path.join(ROOT, "build", "bin", "edgerun"))
    ap.add_argument("--threads", default="1")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.platform()}")
    print("| model | threads | edgerun p50 ms | ORT p50 ms | ratio | edgerun p99/p50 | edgerun load ms | ORT load ms |")
    print("|---|---|---|---|---|---|---|---|")
    for threads in [int(t) for t in args.threads.split(",")]:
        for name in args.models.split(","):
            d = os.path.join(CACHE, "models", name)
            inp, dims = input_spec(d)
            er = run_json([args.edgerun, "bench", os.path.join(d, "model.onnx"), "--json",
                           "--shape", f"{inp}={dims}", "--threads", str(threads),
                           "--warmup", str(args.warmup), "--iterations", str(args.iterations)])
            ort = run_json(["node", os.path.join(ROOT, "scripts", "ort_run.js"),
                            os.path.join(d, "model.onnx"), "-", os.path.join(d, "input.npy"),
                            "--threads", str(threads), "--bench", str(args.warmup), str(args.iterations)])
            e50 = er["latency_ms"]["p50"]
            print(f"| {name} | {threads} | {e50:.2f} | {ort['median_ms']:.2f} | {e50 / ort['median_ms']:.2f} | "
                  f"{er['latency_ms']['p99'] / e50:.2f} | {er['load_ms']:.0f} | {ort['load_ms']:.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
