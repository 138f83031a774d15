#!/usr/bin/python3
"""Makes a QDQ int8 model from a float ONNX model, the way ONNX Runtime's static quantizer does.

QDQ format: the float operators stay; every quantized activation tensor goes through
QuantizeLinear -> DequantizeLinear, weights become int8 initializers behind a DequantizeLinear,
biases int32 initializers behind a DequantizeLinear. edgerun folds these patterns into int8
kernels (src/passes/fold_qdq.cc); tests and benchmarks use this script to make such models.

Scheme (ONNX Runtime's defaults for static QDQ quantization):
  - activations: uint8, asymmetric, per tensor; min/max calibration over the given inputs
    (range widened to include 0, scale = (max - min) / 255, zero point = round(-min / scale));
  - weights: int8, symmetric ([-127, 127], zero point 0), per output channel (Conv axis 0,
    MatMul B per column, Gemm B per output);
  - bias: int32, scale = input scale * weight scale[c], zero point 0;
  - quantized: inputs and outputs of Conv, MatMul, Gemm, Add, GlobalAveragePool, AveragePool,
    MaxPool. A Relu or Clip that is the only reader of a Conv/MatMul/Gemm/Add output is kept
    inside the quantized region (the Q goes after it), as ONNX Runtime does when it fuses them.
    MaxPool's output reuses its input's parameters.
Calibration runs the float model with ONNX Runtime through node (scripts/ort_run.js) on a copy
of the model that exposes every tensor to quantize as an extra output.

Usage:
  make_qdq_model.py FLOAT.onnx OUT.onnx --calib input.npy [more.npy ...] [--perturb 3]
      [--seed 0] [--no-check]
Each --calib file is one sample for the model's single input; --perturb adds that many noisy
copies of each. Unless --no-check, the QDQ model is run with ONNX Runtime on the first sample
and its output is compared with the float model's (cosine, top-1).
Needs /usr/bin/python3 with onnx and numpy, node, and onnxruntime-node in
$EDGERUN_CACHE/npm (scripts/fetch_fixtures.sh installs it).
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(SCRIPT_DIR, "ort_run.js")

QUANTIZED_OPS = ("Conv", "MatMul", "Gemm", "Add", "GlobalAveragePool", "AveragePool", "MaxPool")
# Ops whose output may absorb a following Relu/Clip.
FUSING_OPS = ("Conv", "MatMul", "Gemm", "Add")
ACTIVATIONS = ("Relu", "Clip")


def fail(msg):
    sys.stderr.write(f"make_qdq_model: {msg}\n")
    sys.exit(1)


class Model:
    """Index of a float graph: constants, producers and readers of every tensor."""

    def __init__(self, model):
        self.model = model
        g = model.graph
        self.initializers = {t.name: t for t in g.initializer}
        self.constants = {n: numpy_helper.to_array(t) for n, t in self.initializers.items()}
        for node in g.node:
            if node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        self.constants[node.output[0]] = numpy_helper.to_array(a.t)
        self.producer = {}
        self.readers = {}
        for node in g.node:
            for o in node.output:
                self.producer[o] = node
            for i in node.input:
                if i:
                    self.readers.setdefault(i, []).append(node)
        self.graph_outputs = {o.name for o in g.output}
        initializer_names = set(self.initializers)
        self.graph_inputs = [i.name for i in g.input if i.name not in initializer_names]

    def is_constant(self, name):
        return name in self.constants

    def resolve_identity(self, name):
        """The initializer behind a chain of Identity nodes (exporters share equal biases that
        way), or None."""
        while name not in self.initializers:
            node = self.producer.get(name)
            if node is None or node.op_type != "Identity":
                return None
            name = node.input[0]
        return name

    def sole_reader(self, name):
        readers = self.readers.get(name, [])
        if len(readers) != 1 or name in self.graph_outputs:
            return None
        return readers[0]


def plan(m):
    """Which tensors get Q/DQ, and which weights/biases get quantized.

    Returns (tensors, weights, biases, same_as):
      tensors: activation tensor names to quantize, in first-seen order;
      weights: {initializer name: axis};
      biases: {output of the Conv/Gemm: (input tensor, weight name, bias initializer)}, one per
        node, since the bias scale depends on the node's input and weight scales;
      same_as: {tensor: tensor whose parameters it reuses} (MaxPool outputs).
    """
    tensors, weights, biases, same_as = [], {}, {}, {}

    def add(name):
        if name and not m.is_constant(name) and name not in tensors:
            tensors.append(name)

    def output_point(node):
        out = node.output[0]
        if node.op_type in FUSING_OPS:
            act = m.sole_reader(out)
            if act is not None and act.op_type in ACTIVATIONS:
                return act.output[0]
        return out

    for node in m.model.graph.node:
        op = node.op_type
        if op not in QUANTIZED_OPS:
            continue
        ins = list(node.input)
        if op == "Conv":
            if len(ins) < 2 or ins[1] not in m.initializers:
                continue
            weights[ins[1]] = 0
            bias = m.resolve_identity(ins[2]) if len(ins) > 2 and ins[2] else None
            if bias is not None:
                biases[node.output[0]] = (ins[0], ins[1], bias)
            add(ins[0])
        elif op in ("MatMul", "Gemm"):
            if len(ins) < 2 or ins[1] not in m.initializers:
                continue
            b = m.constants[ins[1]]
            if b.ndim != 2:
                continue
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if op == "Gemm" and attrs.get("transA", 0):
                continue
            weights[ins[1]] = 0 if (op == "Gemm" and attrs.get("transB", 0)) else 1
            bias = m.resolve_identity(ins[2]) if op == "Gemm" and len(ins) > 2 else None
            if bias is not None and m.constants[bias].ndim == 1 and attrs.get("beta", 1.0) == 1.0:
                biases[node.output[0]] = (ins[0], ins[1], bias)
            add(ins[0])
        elif op == "Add":
            if any(m.is_constant(i) for i in ins):
                continue
            add(ins[0])
            add(ins[1])
        else:  # pools
            add(ins[0])
        out = output_point(node)
        add(out)
        if op == "MaxPool":
            same_as[out] = ins[0]
    return tensors, weights, biases, same_as


def run_ort(model_path, out_dir, inputs, threads=1):
    args = ["node", ORT_RUN, model_path, out_dir] + list(inputs) + ["--threads", str(threads)]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"onnxruntime failed on {model_path}: {proc.stderr.strip() or proc.stdout.strip()}")


def calibrate(m, tensors, samples, workdir):
    """min/max of every tensor over every sample, from one ONNX Runtime run per sample."""
    model = onnx.ModelProto()
    model.CopyFrom(m.model)
    g = model.graph
    names = {}
    for i, t in enumerate(tensors):
        alias = f"__calib_{i}"
        names[t] = alias
        g.node.append(helper.make_node("Identity", [t], [alias], name=alias))
        g.output.append(helper.make_tensor_value_info(alias, TensorProto.FLOAT, None))
    path = os.path.join(workdir, "calib.onnx")
    onnx.save(model, path)
    ranges = {}
    for k, sample in enumerate(samples):
        out_dir = os.path.join(workdir, f"calib_out_{k}")
        os.makedirs(out_dir, exist_ok=True)
        run_ort(path, out_dir, [sample])
        for t, alias in names.items():
            a = np.load(os.path.join(out_dir, alias + ".npy"))
            lo, hi = float(a.min()), float(a.max())
            if t in ranges:
                lo, hi = min(lo, ranges[t][0]), max(hi, ranges[t][1])
            ranges[t] = (lo, hi)
    return ranges


def activation_params(lo, hi):
    """uint8 asymmetric parameters for the range [lo, hi] (widened to include 0)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        return np.float32(1.0), np.uint8(0)
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(np.round(-lo / float(scale)), 0, 255))
    return scale, np.uint8(zp)


def quantize_weight(w, axis):
    """int8 symmetric per-channel quantization along `axis`: (q, scales)."""
    moved = np.moveaxis(w.astype(np.float64), axis, 0)
    amax = np.abs(moved.reshape(moved.shape[0], -1)).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def build_qdq(m, tensors, weights, biases, same_as, ranges):
    g = m.model.graph
    params = {}
    for t in tensors:
        src = same_as.get(t, t)
        params[t] = activation_params(*ranges[src])
    new_inits = []
    dq_nodes = {}  # name the DQ node produces -> node (weights and biases, placed first)
    removed_inits = set()

    weight_scales = {}
    for name, axis in weights.items():
        q, scale = quantize_weight(m.constants[name], axis)
        weight_scales[name] = scale
        new_inits += [numpy_helper.from_array(q, name + "_quantized"),
                      numpy_helper.from_array(scale, name + "_scale"),
                      numpy_helper.from_array(np.zeros(scale.shape, np.int8), name + "_zero_point")]
        dq_nodes[name] = helper.make_node(
            "DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
            [name], name=name + "_DequantizeLinear", axis=axis)
        removed_inits.add(name)

    bias_inputs = {}  # node output -> the DQ output its bias input now reads
    for key, (x, w, init) in biases.items():
        if x not in params:
            continue
        name = f"{init}_for_{key}"
        bias_inputs[key] = name
        b = m.constants[init].astype(np.float64)
        scale = (params[x][0] * weight_scales[w]).astype(np.float32)
        if scale.shape[0] != b.shape[0]:
            scale = np.full(b.shape, scale.reshape(-1)[0], np.float32)
        q = np.clip(np.round(b / scale.astype(np.float64)), -2**31, 2**31 - 1).astype(np.int32)
        new_inits += [numpy_helper.from_array(q, name + "_quantized"),
                      numpy_helper.from_array(scale, name + "_scale"),
                      numpy_helper.from_array(np.zeros(scale.shape, np.int32), name + "_zero_point")]
        dq_nodes[name] = helper.make_node(
            "DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
            [name], name=name + "_DequantizeLinear", axis=0)

    # Activation Q/DQ pairs. Readers read the DQ output; a graph output keeps its name on the DQ
    # output, and its producer writes a renamed float tensor instead.
    renamed = {}  # graph output -> float tensor its producer now writes
    pairs = {}    # tensor -> (Q node, DQ node)
    for t in tensors:
        scale, zp = params[t]
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), t + "_scale"),
                      numpy_helper.from_array(np.array(zp, np.uint8), t + "_zero_point")]
        src = t
        dq_out = t + "_dequantized"
        if t in m.graph_outputs:
            src = t + "_float"
            renamed[t] = src
            dq_out = t
        q = helper.make_node("QuantizeLinear", [src, t + "_scale", t + "_zero_point"],
                             [t + "_quantized"], name=t + "_QuantizeLinear")
        dq = helper.make_node("DequantizeLinear", [t + "_quantized", t + "_scale",
                                                  t + "_zero_point"],
                              [dq_out], name=t + "_DequantizeLinear")
        pairs[t] = (q, dq)

    def reads(name):
        if name in pairs and name not in m.graph_outputs:
            return name + "_dequantized"
        return name

    nodes = list(dq_nodes.values())
    for t in m.graph_inputs:
        if t in pairs:
            nodes += list(pairs[t])
    for node in g.node:
        new = onnx.NodeProto()
        new.CopyFrom(node)
        for i, name in enumerate(new.input):
            new.input[i] = reads(name)
        if node.output and node.output[0] in bias_inputs:
            new.input[2] = bias_inputs[node.output[0]]
        for i, name in enumerate(new.output):
            if name in renamed:
                new.output[i] = renamed[name]
        nodes.append(new)
        for o in node.output:
            if o in pairs:
                nodes += list(pairs[o])
    # Float biases (and the Identity nodes that shared them) nobody reads any more.
    while True:
        read = {i for n in nodes for i in n.input} | m.graph_outputs
        dead = [n for n in nodes if n.op_type == "Identity" and n.output[0] not in read]
        if not dead:
            break
        nodes = [n for n in nodes if n not in dead]
    read = {i for n in nodes for i in n.input} | m.graph_outputs
    removed_inits |= {t.name for t in g.initializer if t.name not in read}
    del g.node[:]
    g.node.extend(nodes)
    kept = [t for t in g.initializer if t.name not in removed_inits]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    # Graph inputs that named initializers (old IR) must not list removed ones.
    kept_inputs = [i for i in g.input if i.name not in removed_inits]
    del g.input[:]
    g.input.extend(kept_inputs)
    # Intermediate shape annotations of renamed or requantized tensors are dropped; they are
    # optional and would otherwise have to be duplicated.
    del g.value_info[:]
    return m.model


def perturbed_samples(samples, copies, seed, workdir):
    rng = np.random.default_rng(seed)
    out = list(samples)
    for k, path in enumerate(samples):
        x = np.load(path)
        std = float(x.std()) or 1.0
        for c in range(copies):
            noisy = (x + rng.normal(0.0, 0.1 * std, x.shape)).astype(x.dtype)
            if c % 2 == 1:
                noisy = noisy[..., ::-1].copy()  # a mirrored image, as augmentation would
            p = os.path.join(workdir, f"perturbed_{k}_{c}.npy")
            np.save(p, noisy)
            out.append(p)
    return out


def check(float_path, qdq_path, sample, workdir):
    outs = []
    for tag, path in (("float", float_path), ("qdq", qdq_path)):
        d = os.path.join(workdir, "check_" + tag)
        os.makedirs(d, exist_ok=True)
        run_ort(path, d, [sample])
        files = sorted(f for f in os.listdir(d) if f.endswith(".npy"))
        outs.append(np.load(os.path.join(d, files[0])).astype(np.float64).ravel())
    a, b = outs
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
    print(f"check: ONNX Runtime float vs QDQ on {os.path.basename(sample)}: cosine {cos:.5f}, "
          f"top-1 {int(a.argmax())} vs {int(b.argmax())}, max |diff| {np.abs(a - b).max():.4g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("float_model")
    ap.add_argument("out_model")
    ap.add_argument("--calib", nargs="+", required=True, metavar="NPY",
                    help="calibration inputs (.npy), one sample each")
    ap.add_argument("--perturb", type=int, default=3,
                    help="noisy copies of each calibration input (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-check", action="store_true",
                    help="skip the ONNX Runtime float vs QDQ comparison")
    args = ap.parse_args()

    try:
        model = onnx.load(args.float_model)
    except Exception as e:  # noqa: BLE001 - any load failure is a one-line error
        fail(f"{args.float_model}: {e}")
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:
        # Per-channel DequantizeLinear (the axis attribute) needs opset 13.
        from onnx import version_converter
        model = version_converter.convert_version(model, 13)
    m = Model(model)
    if len(m.graph_inputs) != 1:
        fail(f"{args.float_model}: expected one graph input, found {m.graph_inputs}")

    tensors, weights, biases, same_as = plan(m)
    if not weights:
        fail(f"{args.float_model}: no Conv/MatMul/Gemm with constant weights to quantize")
    with tempfile.TemporaryDirectory(prefix="make_qdq_") as workdir:
        samples = perturbed_samples(args.calib, args.perturb, args.seed, workdir)
        ranges = calibrate(m, tensors, samples, workdir)
        qdq = build_qdq(m, tensors, weights, biases, same_as, ranges)
        onnx.checker.check_model(qdq)
        onnx.save(qdq, args.out_model)
        print(f"{args.out_model}: {len(tensors)} activation tensors, {len(weights)} weights, "
              f"{len(biases)} biases quantized; calibrated on {len(samples)} samples")
        if not args.no_check:
            check(args.float_model, args.out_model, args.calib[0], workdir)


if __name__ == "__main__":
    main()
