#!/usr/bin/python3
"""Exports torchvision classifiers with seeded random weights as edgerun real-model fixtures.

For each model writes <out>/<name>/{model.onnx,input.npy,expected.npy}: the ONNX export
(opset 13, constant folding on), a seeded random NCHW input, and torch's eval-mode output for
that input computed in float64 (stored as float32), which the real-model tests compare edgerun
against. Weights are random (no
network needed) but deterministic: torch.manual_seed(0) before each model is built.

Usage:
  /usr/bin/python3 scripts/export_torchvision.py --out ~/.cache/edgerun/models
  /usr/bin/python3 scripts/export_torchvision.py --out DIR --models resnet18,mobilenet_v2 --force
"""
import argparse
import copy
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torchvision

OPSET = 13
# Bump when the recipe changes (weights, input, export options) so cached fixtures regenerate.
RECIPE = 3

# name -> (constructor kwargs, input height/width)
MODELS = {
    "mobilenet_v2": ({}, 224),
    "mobilenet_v3_small": ({}, 224),
    "mobilenet_v3_large": ({}, 224),
    "resnet18": ({}, 224),
    "resnet50": ({}, 224),
    "efficientnet_b0": ({}, 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "squeezenet1_1": ({}, 224),
    "densenet121": ({}, 224),
    # The auxiliary heads only exist in training mode; turning them off keeps one output.
    "googlenet": ({"aux_logits": False, "init_weights": True}, 224),
    "inception_v3": ({"aux_logits": False, "init_weights": True}, 299),
}

FILES = ("model.onnx", "input.npy", "expected.npy", "meta.json")


def save_npy_atomic(path, array):
    # np.save appends ".npy" to names without it, so the temporary name keeps the suffix.
    tmp = path[: -len(".npy")] + ".tmp.npy"
    np.save(tmp, np.ascontiguousarray(array))
    os.replace(tmp, path)


def calibrate_batchnorm(model, size):
    """Gives BatchNorm layers realistic affine parameters and running statistics.

    Freshly initialized BatchNorm has mean 0 / var 1 / gamma 1 / beta 0, so with random conv
    weights activations vanish or explode through deep nets (efficientnet's logits come out near
    1e-14, inception_v3's near 1e12) and the logits say little about the layers before them.
    Random gamma/beta, then running statistics measured on a few seeded random batches in
    train mode, keep every layer's activations near unit scale, like a trained network's.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    with torch.no_grad():
        for bn in bns:
            if bn.affine:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over all calibration batches
        model.train()
        gen = torch.Generator().manual_seed(1)
        for _ in range(3):
            model(torch.randn(4, 3, size, size, generator=gen))
    model.eval()


def read_recipe(meta_path):
    try:
        with open(meta_path) as f:
            return json.load(f).get("recipe")
    except (OSError, ValueError):
        return None


def export_one(name, out_root, force):
    kwargs, size = MODELS[name]
    out_dir = os.path.join(out_root, name)
    if not force and all(os.path.isfile(os.path.join(out_dir, f)) for f in FILES) and \
            read_recipe(os.path.join(out_dir, "meta.json")) == RECIPE:
        print(f"export_torchvision: {name}: up to date in {out_dir}, skipped")
        return
    os.makedirs(out_dir, exist_ok=True)
    start = time.time()

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **kwargs)
    calibrate_batchnorm(model, size)
    model.eval()
    # A separate generator so the input does not depend on how many draws the init made.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, size, size), dtype=np.float32)

    with torch.no_grad():
        result32 = model(torch.from_numpy(x)).numpy()
        # The reference is computed in float64 (same weights, widened exactly) so it carries no
        # float32 rounding noise of its own: the tests then measure edgerun's error alone.
        expected = copy.deepcopy(model).double()(torch.from_numpy(x).double()).float().numpy()
    noise = float(np.abs(result32 - expected).max())

    tmp_onnx = os.path.join(out_dir, "model.tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.from_numpy(x), tmp_onnx, opset_version=OPSET,
                          do_constant_folding=True, input_names=["input"],
                          output_names=["output"])
    os.replace(tmp_onnx, os.path.join(out_dir, "model.onnx"))
    save_npy_atomic(os.path.join(out_dir, "input.npy"), x)
    save_npy_atomic(os.path.join(out_dir, "expected.npy"), expected)
    # Written last: its presence with the current recipe marks the directory complete.
    meta = {"recipe": RECIPE, "source": "torchvision", "model": name, "weights": "random, seed 0",
            "opset": OPSET, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "input_shape": list(x.shape), "output_shape": list(expected.shape),
            "reference": "torch float64", "torch_float32_max_abs_diff": noise}
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"export_torchvision: {name}: exported to {out_dir} (input 1x3x{size}x{size}, "
          f"output {'x'.join(map(str, expected.shape))}, torch f32 vs f64 max|diff| {noise:.2g}, "
          f"{time.time() - start:.1f}s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory that receives <name>/ folders")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--force", action="store_true", help="re-export even if files exist")
    args = parser.parse_args()

    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"export_torchvision: unknown model(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in names:
        export_one(name, args.out, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
