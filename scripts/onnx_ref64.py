#!/usr/bin/python3
"""A float64 ONNX interpreter: a high-precision oracle for fixtures without a torch source.

onnxruntime computes in float32 with its own fusions, so its outputs carry ~1e-4 of rounding
noise on sensitive models (PP-OCRv4 det: 'all' vs 'disabled' optimization differ by 1.2e-4),
which is as large as the error the real-model tests allow edgerun. This evaluates the graph node
by node in float64 (float32 weights and attributes widened exactly; conv, pooling and
transposed conv through torch in float64), so the reference error is ~1e-12 and the tests
measure edgerun alone. Only the ops and attribute forms the fixture models use are implemented;
anything else is an error, never a guess.

Usage:
  /usr/bin/python3 scripts/onnx_ref64.py model.onnx input.npy expected.npy [--check ort.npy]
"""
import argparse
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

FLOAT_TYPES = (np.float16, np.float32, np.float64)


class Unsupported(Exception):
    pass


def attrs_of(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def widen(a):
    """float32/16 -> float64: the interpreter's working precision."""
    return a.astype(np.float64) if a.dtype in FLOAT_TYPES else a


def t64(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def split_pads(pads, rank):
    return list(pads[:rank]), list(pads[rank:])


def pad_spatial(x, begin, end, value=0.0):
    # F.pad takes (last_begin, last_end, ..., first_begin, first_end) over trailing dims.
    spec = []
    for b, e in zip(reversed(begin), reversed(end)):
        spec += [b, e]
    return F.pad(x, spec, value=value) if any(spec) else x


def check_auto_pad(node, a):
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unsupported(f"{node.name}: auto_pad {a['auto_pad']}")


def conv(node, x, w, b=None):
    a = attrs_of(node)
    check_auto_pad(node, a)
    sp = x.ndim - 2
    begin, end = split_pads(a.get("pads", [0] * 2 * sp), sp)
    xt = pad_spatial(t64(x), begin, end)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[sp]
    y = fn(xt, t64(w), None if b is None else t64(b), stride=a.get("strides", [1] * sp),
           dilation=a.get("dilations", [1] * sp), groups=a.get("group", 1))
    return y.numpy()


def conv_transpose(node, x, w, b=None):
    a = attrs_of(node)
    check_auto_pad(node, a)
    if "output_shape" in a:
        raise Unsupported(f"{node.name}: ConvTranspose output_shape")
    sp = x.ndim - 2
    if sp != 2:
        raise Unsupported(f"{node.name}: ConvTranspose rank {x.ndim}")
    begin, end = split_pads(a.get("pads", [0] * 2 * sp), sp)
    out_pad = a.get("output_padding", [0] * sp)
    # Full (unpadded) transposed conv, then the output_padding rows, then crop the pads.
    y = F.conv_transpose2d(t64(x), t64(w), None, stride=a.get("strides", [1] * sp),
                           dilation=a.get("dilations", [1] * sp), groups=a.get("group", 1))
    y = pad_spatial(y, [0] * sp, out_pad)
    h, w_ = y.shape[2], y.shape[3]
    y = y[:, :, begin[0]:h - end[0], begin[1]:w_ - end[1]].numpy()
    if b is not None:
        y = y + widen(b).reshape(1, -1, 1, 1)
    return y


def pool(node, x, kind):
    a = attrs_of(node)
    check_auto_pad(node, a)
    sp = x.ndim - 2
    if sp != 2:
        raise Unsupported(f"{node.name}: pool rank {x.ndim}")
    k = a["kernel_shape"]
    strides = a.get("strides", [1] * sp)
    begin, end = split_pads(a.get("pads", [0] * 2 * sp), sp)
    ceil = bool(a.get("ceil_mode", 0))
    if a.get("dilations", [1] * sp) != [1] * sp:
        raise Unsupported(f"{node.name}: pool dilations")
    if begin != end:
        raise Unsupported(f"{node.name}: asymmetric pool pads")
    if kind == "max":
        return F.max_pool2d(t64(x), k, strides, begin, ceil_mode=ceil).numpy()
    return F.avg_pool2d(t64(x), k, strides, begin, ceil_mode=ceil,
                        count_include_pad=bool(a.get("count_include_pad", 0))).numpy()


def softmax(node, x, opset):
    axis = attrs_of(node).get("axis", -1 if opset >= 13 else 1)
    axis = axis + x.ndim if axis < 0 else axis
    if opset >= 13:
        m = x.max(axis=axis, keepdims=True)
        e = np.exp(x - m)
        return e / e.sum(axis=axis, keepdims=True)
    # Before opset 13 the input is coerced to 2-D at `axis` and normalized over the second dim.
    shape = x.shape
    flat = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
    e = np.exp(flat - flat.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).reshape(shape)


def resize(node, x, roi=None, scales=None, sizes=None):
    a = attrs_of(node)
    mode = a.get("mode", b"nearest")
    ctm = a.get("coordinate_transformation_mode", b"half_pixel")
    nearest = a.get("nearest_mode", b"round_prefer_floor")
    if mode != b"nearest" or ctm != b"asymmetric" or nearest != b"floor":
        raise Unsupported(f"{node.name}: Resize mode {mode} / {ctm} / {nearest}")
    if sizes is not None and sizes.size:
        out_shape = [int(s) for s in sizes]
        scales = np.array(out_shape, np.float64) / np.array(x.shape, np.float64)
    else:
        out_shape = [int(np.floor(d * s)) for d, s in zip(x.shape, scales)]
    y = x
    for axis, (n_out, s) in enumerate(zip(out_shape, scales)):
        idx = np.minimum(np.floor(np.arange(n_out) / np.float32(s)).astype(np.int64),
                         x.shape[axis] - 1)
        y = np.take(y, idx, axis=axis)
    return y


def slice_(node, x, opset, starts=None, ends=None, axes=None, steps=None):
    if opset < 10:
        a = attrs_of(node)
        starts, ends, axes = a["starts"], a["ends"], a.get("axes")
    starts, ends = list(starts), list(ends)
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    sl = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        sl[int(ax)] = slice(int(s), int(e), int(st))
    return x[tuple(sl)]


def reshape(x, shape):
    shape = [x.shape[i] if int(d) == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(shape)


CAST = {1: np.float64, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def run_node(node, ins, opset):
    op = node.op_type
    a = attrs_of(node)
    if op == "Constant":
        return [widen(numpy_helper.to_array(a["value"]))]
    if op in ("Add", "Sub", "Mul", "Div", "Pow"):
        x, y = ins
        if op == "Div" and x.dtype.kind in "iu":
            return [(x // y).astype(x.dtype)]
        return [{"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
                 "Pow": np.power}[op](x, y)]
    if op == "Relu":
        return [np.maximum(ins[0], 0)]
    if op == "Sigmoid":
        return [1.0 / (1.0 + np.exp(-ins[0]))]
    if op == "Sqrt":
        return [np.sqrt(ins[0])]
    if op == "HardSigmoid":
        return [np.clip(a.get("alpha", 0.2) * ins[0] + a.get("beta", 0.5), 0.0, 1.0)]
    if op == "Clip":
        if opset < 11:
            lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
        else:
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
        return [np.minimum(np.maximum(ins[0], lo), hi)]
    if op == "Conv":
        return [conv(node, *ins)]
    if op == "ConvTranspose":
        return [conv_transpose(node, *ins)]
    if op == "MaxPool":
        if len(node.output) > 1:
            raise Unsupported("MaxPool indices output")
        return [pool(node, ins[0], "max")]
    if op == "AveragePool":
        return [pool(node, ins[0], "avg")]
    if op == "GlobalAveragePool":
        x = ins[0]
        return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "BatchNormalization":
        if len(node.output) > 1:
            raise Unsupported("BatchNormalization training outputs")
        x, scale, bias, mean, var = ins
        shp = (1, -1) + (1,) * (x.ndim - 2)
        eps = a.get("epsilon", 1e-5)
        return [(x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps) * scale.reshape(shp) +
                bias.reshape(shp)]
    if op == "Resize":
        return [resize(node, *ins)]
    if op == "Concat":
        return [np.concatenate(ins, axis=a["axis"])]
    if op == "MatMul":
        return [np.matmul(*ins)]
    if op == "Transpose":
        return [np.transpose(ins[0], a.get("perm"))]
    if op == "Reshape":
        return [reshape(ins[0], ins[1])]
    if op == "Squeeze":
        axes = a.get("axes") if opset < 13 else (None if len(ins) < 2 else list(ins[1]))
        return [np.squeeze(ins[0], axis=None if axes is None else tuple(axes))]
    if op == "Unsqueeze":
        axes = a.get("axes") if opset < 13 else list(ins[1])
        y = ins[0]
        for ax in sorted(int(v) + (y.ndim + len(axes) if v < 0 else 0) for v in axes):
            y = np.expand_dims(y, ax)
        return [y]
    if op == "Slice":
        return [slice_(node, ins[0], opset, *ins[1:])]
    if op == "Shape":
        return [np.array(ins[0].shape, np.int64)]
    if op == "Cast":
        if a["to"] not in CAST:
            raise Unsupported(f"{node.name}: Cast to {a['to']}")
        return [ins[0].astype(CAST[a["to"]])]
    if op == "ReduceMean":
        axes = a.get("axes")
        return [ins[0].mean(axis=None if axes is None else tuple(axes),
                            keepdims=bool(a.get("keepdims", 1)))]
    if op == "Softmax":
        return [softmax(node, ins[0], opset)]
    raise Unsupported(f"op {op} (node {node.name})")


def evaluate(model, feeds):
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    env = {t.name: widen(numpy_helper.to_array(t)) for t in model.graph.initializer}
    env.update({k: widen(v) for k, v in feeds.items()})
    for node in model.graph.node:
        ins = [env[n] if n else None for n in node.input]
        # Drop trailing omitted optional inputs so positional unpacking matches the op.
        while ins and ins[-1] is None:
            ins.pop()
        outs = run_node(node, ins, opset)
        for name, value in zip(node.output, outs):
            env[name] = value
    return [env[o.name] for o in model.graph.output]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("input", help=".npy for the model's single graph input")
    p.add_argument("output", help=".npy to write (float32, the fixture's dtype)")
    p.add_argument("--check", help="a float32 result (e.g. onnxruntime's) that must agree "
                                   "within 1e-3 * max|ref|, guarding against interpreter bugs")
    args = p.parse_args()

    model = onnx.load(args.model)
    init = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in init]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        print(f"onnx_ref64: {args.model}: needs exactly one input and one output", file=sys.stderr)
        return 1
    x = np.load(args.input)
    try:
        (y,) = evaluate(model, {inputs[0]: x})
    except Unsupported as e:
        print(f"onnx_ref64: {args.model}: unsupported: {e}", file=sys.stderr)
        return 1
    y32 = y.astype(np.float32)
    if args.check:
        other = np.load(args.check).astype(np.float64)
        if other.shape != y.shape:
            print(f"onnx_ref64: shape {y.shape} != check {other.shape}", file=sys.stderr)
            return 1
        err = np.abs(other - y).max()
        ref = np.abs(y).max()
        cos = float((other.ravel() @ y.ravel()) /
                    (np.linalg.norm(other) * np.linalg.norm(y) + 1e-300))
        print(f"onnx_ref64: float64 vs {args.check}: max|diff| {err:.3g} "
              f"(max|ref| {ref:.4g}), cos {cos:.9f}")
        if not err <= 1e-3 * ref or not cos >= 0.9999:
            print("onnx_ref64: float64 result disagrees with the check; not writing",
                  file=sys.stderr)
            return 1
    tmp = args.output[:-4] + ".tmp.npy"
    np.save(tmp, y32)
    import os
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
