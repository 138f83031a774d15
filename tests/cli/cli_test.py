#!/usr/bin/env python3
"""End-to-end tests of the edgerun CLI: exit codes, one-line errors, outputs, JSON reports.

Models are generated here with the onnx Python package (Debian's python3-onnx).
Usage: cli_test.py --edgerun build/bin/edgerun
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EDGERUN = None


def run(*args):
    proc = subprocess.run([EDGERUN, *map(str, args)], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def conv_relu_model(path, output_name="y", declared_out_shape=None, batch="N"):
    w = numpy_helper.from_array(np.random.RandomState(0).randn(4, 3, 3, 3).astype(np.float32), "w")
    b = numpy_helper.from_array(np.arange(4, dtype=np.float32), "b")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], [output_name], name="relu"),
    ]
    out_shape = declared_out_shape if declared_out_shape is not None else [batch, 4, 8, 8]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)],
        initializer=[w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)
    return model


def numpy_conv_relu(x):
    w = np.random.RandomState(0).randn(4, 3, 3, 3).astype(np.float32)
    b = np.arange(4, dtype=np.float32)
    n, _, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, 4, h, wd), np.float32)
    for i in range(h):
        for j in range(wd):
            patch = xp[:, :, i:i + 3, j:j + 3]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return np.maximum(out, 0)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.model = os.path.join(self.dir, "conv_relu.onnx")
        conv_relu_model(self.model)

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def assert_one_line_error(self, code, err, *needles):
        self.assertEqual(code, 1, err)
        lines = [l for l in err.strip().splitlines() if l]
        self.assertEqual(len(lines), 1, err)
        for needle in needles:
            self.assertIn(needle, lines[0])

    # --- inspect -------------------------------------------------------------------------
    def test_inspect_text_report(self):
        code, out, err = run("inspect", self.model)
        self.assertEqual(code, 0, err)
        for needle in ["inputs:", "outputs:", "op histogram:", "Conv", "arena:", "MACs:",
                       "parameters: 112", "dynamic dims: N", "kernels:"]:
            self.assertIn(needle, out)

    def test_inspect_json_report(self):
        code, out, err = run("inspect", self.model, "--json", "--shape", "x=2x3x8x8", "--graph")
        self.assertEqual(code, 0, err)
        report = json.loads(out)
        self.assertEqual(report["inputs"][0]["shape"], ["N", 3, 8, 8])
        self.assertEqual(report["bound_shapes"][0]["shape"], [2, 3, 8, 8])
        self.assertEqual(report["dynamic_dims"], ["N"])
        self.assertEqual(report["parameters"], {"count": 112, "bytes": 448})
        self.assertEqual(report["op_histogram"], {"Conv": 1, "Relu": 1})
        self.assertEqual(report["macs"], 2 * 4 * 8 * 8 * 27)
        self.assertGreaterEqual(report["arena_bytes"], 2 * 3 * 64 * 4 + 2 * 4 * 64 * 4)
        # 4x3x3x3 weights + 4 biases; what a kernel packed is no longer held as a constant.
        self.assertEqual(report["weight_bytes"], (108 + 4) * 4)
        self.assertLessEqual(report["held_weight_bytes"], report["weight_bytes"])
        self.assertEqual(report["unsupported_ops"], [])
        self.assertTrue(all(n["kernel"] for n in report["nodes"]))
        self.assertIn("conv", report["graph_before"])
        self.assertIn("opset_imports", report)

    def test_inspect_lists_every_unsupported_op(self):
        nodes = [helper.make_node("Relu", ["x"], ["a"], name="ok"),
                 helper.make_node("NoSuchOp", ["a"], ["b"], name="bad_one"),
                 helper.make_node("AlsoMissing", ["b"], ["y"], name="bad_two", domain="com.vendor")]
        graph = helper.make_graph(nodes, "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                        helper.make_opsetid("com.vendor", 1)])
        onnx.save(model, self.path("unknown.onnx"))
        code, out, err = run("inspect", self.path("unknown.onnx"), "--json")
        self.assertEqual(code, 1)
        report = json.loads(out)
        self.assertEqual([u["node"] for u in report["unsupported_ops"]], ["bad_one", "bad_two"])
        code, out, err = run("run", self.path("unknown.onnx"), "--random-inputs", "1",
                             "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "unknown.onnx", "bad_one", "NoSuchOp", "bad_two",
                                   "AlsoMissing")

    # --- run -----------------------------------------------------------------------------
    def test_run_matches_numpy_and_escapes_output_names(self):
        model = self.path("escaped.onnx")
        conv_relu_model(model, output_name="out:0/../y")
        x = np.random.RandomState(1).randn(2, 3, 8, 8).astype(np.float32)
        np.save(self.path("x.npy"), x)
        code, out, err = run("run", model, "--input", "x=" + self.path("x.npy"),
                             "--output-dir", self.path("outs"))
        self.assertEqual(code, 0, err)
        produced = os.listdir(self.path("outs"))
        self.assertEqual(produced, ["out%3A0%2F..%2Fy.npy"])
        y = np.load(os.path.join(self.path("outs"), produced[0]))
        np.testing.assert_allclose(y, numpy_conv_relu(x), rtol=1e-5, atol=1e-5)

    def test_run_reads_tensorproto_inputs(self):
        x = np.random.RandomState(2).randn(1, 3, 8, 8).astype(np.float32)
        with open(self.path("x.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, "x").SerializeToString())
        code, out, err = run("run", self.model, "--input", "x=" + self.path("x.pb"),
                             "--output-dir", self.path("outs"))
        self.assertEqual(code, 0, err)
        y = np.load(os.path.join(self.path("outs"), "y.npy"))
        np.testing.assert_allclose(y, numpy_conv_relu(x), rtol=1e-5, atol=1e-5)

    def test_run_random_inputs_is_deterministic(self):
        for d in ("a", "b"):
            code, _, err = run("run", self.model, "--random-inputs", "7", "--output-dir", self.path(d))
            self.assertEqual(code, 0, err)
        np.testing.assert_array_equal(np.load(self.path("a/y.npy")), np.load(self.path("b/y.npy")))

    def test_wait_policies_give_the_same_outputs(self):
        # Multi-threaded runs re-execute with a bounded spin (default), OMP_WAIT_POLICY=active
        # (--spin) or passive (--no-spin); the outputs must not depend on it.
        for d, flags in (("one", ["--threads", "1"]), ("spin", ["--threads", "2", "--spin"]),
                         ("brief", ["--threads", "2"]),
                         ("passive", ["--threads", "2", "--no-spin"])):
            code, _, err = run("run", self.model, "--random-inputs", "7", "--output-dir",
                               self.path(d), *flags)
            self.assertEqual(code, 0, err)
        y = np.load(self.path("one/y.npy"))
        for d in ("spin", "brief", "passive"):
            np.testing.assert_allclose(np.load(self.path(f"{d}/y.npy")), y, rtol=1e-5, atol=1e-6)

    def test_small_pages_give_the_same_outputs(self):
        for d, flags in (("huge", []), ("small", ["--no-huge-pages"])):
            code, _, err = run("run", self.model, "--random-inputs", "7", "--output-dir",
                               self.path(d), *flags)
            self.assertEqual(code, 0, err)
        np.testing.assert_array_equal(np.load(self.path("small/y.npy")),
                                      np.load(self.path("huge/y.npy")))
        code, out, err = run("bench", self.model, "--no-huge-pages", "--iterations", "2", "--json")
        self.assertEqual(code, 0, err)
        self.assertGreater(json.loads(out)["arena_bytes"], 0)

    def conv3x3_model(self, name, out_channels, seed):
        """A model file of one 3x3 conv named conv3x3, 16 -> out_channels on a 16x16 map."""
        w = np.random.RandomState(seed).randn(out_channels, 16, 3, 3).astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv3x3", pads=[1, 1, 1, 1])],
            "conv3x3", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 16, 16])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, out_channels, 16, 16])],
            [numpy_helper.from_array(w, "w")])
        model = self.path(name)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
        return model

    def test_winograd_is_reported_and_can_be_turned_off(self):
        # A 3x3 conv, 16 -> 16 channels on a 16x16 map: edgerun's Winograd kernel on the oneDNN
        # path.
        model = self.conv3x3_model("wino.onnx", 16, seed=1)
        impls = {}
        for d, flags in (("wino", []), ("direct", ["--no-winograd"])):
            code, out, err = run("inspect", model, "--json", *flags)
            self.assertEqual(code, 0, err)
            node = [n for n in json.loads(out)["nodes"] if n["name"] == "conv3x3"][0]
            impls[d] = node["implementation"]
            code, _, err = run("run", model, "--random-inputs", "3", "--output-dir", self.path(d),
                               *flags)
            self.assertEqual(code, 0, err)
        self.assertNotIn("wino", impls["direct"])
        if node["kernel"] == "onednn":
            self.assertTrue(impls["wino"].startswith("winograd_f4x4:"), impls)
        y = np.load(self.path("direct/y.npy"))
        np.testing.assert_allclose(np.load(self.path("wino/y.npy")), y, rtol=1e-4,
                                   atol=1e-4 * np.abs(y).max())

    def test_weight_cache_is_written_then_mapped_with_the_same_outputs(self):
        # 512 outputs: more F(4x4,3x3) weights than edgerun's Winograd kernel takes, so oneDNN
        # packs them.
        model = self.conv3x3_model("cached.onnx", 512, seed=2)
        cache = self.path("weights")
        code, out, err = run("inspect", model, "--json")
        self.assertEqual(code, 0, err)
        on_onednn = json.loads(out)["nodes"][0]["kernel"] == "onednn"
        reports = []
        for d, flags in (("plain", []), ("first", ["--weight-cache", cache]),
                         ("second", ["--weight-cache", cache])):
            code, _, err = run("run", model, "--random-inputs", "5", "--output-dir", self.path(d),
                               *flags)
            self.assertEqual(code, 0, err)
            code, out, err = run("bench", model, "--iterations", "1", "--json", *flags)
            self.assertEqual(code, 0, err)
            reports.append(json.loads(out).get("weight_cache"))
        y = np.load(self.path("plain/y.npy"))
        np.testing.assert_array_equal(np.load(self.path("first/y.npy")), y)
        np.testing.assert_array_equal(np.load(self.path("second/y.npy")), y)
        self.assertIsNone(reports[0])
        if on_onednn:
            # `run` wrote the file, so both benches map it.
            self.assertTrue(reports[1].startswith("mapped 1 packed weight ("), reports)
            self.assertEqual(len(os.listdir(cache)), 1)
        # An unwritable cache costs only the cache.
        code, out, err = run("bench", model, "--iterations", "1", "--json", "--weight-cache",
                             os.path.join(model, "sub"))
        self.assertEqual(code, 0, err)
        if on_onednn:
            self.assertIn("not written: ", json.loads(out)["weight_cache"])

    def test_spin_and_no_spin_together_is_a_usage_error(self):
        code, _, err = run("bench", self.model, "--threads", "2", "--spin", "--no-spin",
                           "--iterations", "1")
        self.assertEqual(code, 2, err)
        self.assertIn("--no-spin", err)

    def test_run_input_errors(self):
        code, _, err = run("run", self.model, "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "missing input 'x'")
        np.save(self.path("rank3.npy"), np.zeros((3, 8, 8), np.float32))
        code, _, err = run("run", self.model, "--input", "x=" + self.path("rank3.npy"),
                           "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "input 'x'", "rank")
        np.save(self.path("dims.npy"), np.zeros((1, 5, 8, 8), np.float32))
        code, _, err = run("run", self.model, "--input", "x=" + self.path("dims.npy"),
                           "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "input 'x'", "dim 1")
        np.save(self.path("i32.npy"), np.zeros((1, 3, 8, 8), np.int32))
        code, _, err = run("run", self.model, "--input", "x=" + self.path("i32.npy"),
                           "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "input 'x'", "f32", "i32")
        code, _, err = run("run", self.model, "--input", "nope=" + self.path("i32.npy"),
                           "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "'nope'")
        with open(self.path("bad.npy"), "wb") as f:
            f.write(b"\x93NUMPY\x01\x00garbage")
        code, _, err = run("run", self.model, "--input", "x=" + self.path("bad.npy"),
                           "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "bad.npy")

    # --- bad model files -----------------------------------------------------------------
    def test_bad_model_files(self):
        with open(self.model, "rb") as f:
            good = f.read()
        cases = {
            "empty.onnx": b"",
            "truncated.onnx": good[: len(good) // 2],
            "random.onnx": bytes(np.random.RandomState(3).randint(0, 256, 4096, dtype=np.uint8)),
            "text.onnx": b"this is not a model\n" * 20,
            "png.onnx": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        }
        for name, data in cases.items():
            with open(self.path(name), "wb") as f:
                f.write(data)
            for cmd in (["inspect"], ["bench", "--iterations", "1"]):
                code, _, err = run(*cmd, self.path(name))
                self.assert_one_line_error(code, err, name)
        code, _, err = run("inspect", self.path("does_not_exist.onnx"))
        self.assert_one_line_error(code, err, "does_not_exist.onnx")

    def test_absurd_dims_fail_cleanly(self):
        code, _, err = run("inspect", self.model, "--shape", "x=100000x3x100000x100000")
        self.assert_one_line_error(code, err, "conv_relu.onnx")
        code, _, err = run("bench", self.model, "--shape", "N=999999999999")
        self.assert_one_line_error(code, err)

    def test_shape_contradiction_inside_graph(self):
        model = self.path("contradiction.onnx")
        conv_relu_model(model, declared_out_shape=["N", 5, 8, 8])
        code, _, err = run("run", model, "--random-inputs", "1", "--output-dir", self.path("o"))
        self.assert_one_line_error(code, err, "contradiction.onnx", "'y'", "declared")

    def test_missing_external_data(self):
        model = conv_relu_model(self.path("tmp.onnx"))
        onnx.save_model(model, self.path("ext.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
        os.remove(self.path("weights.bin"))
        code, _, err = run("inspect", self.path("ext.onnx"))
        self.assert_one_line_error(code, err, "weights.bin")

    # --- usage errors ----------------------------------------------------------------------
    def test_usage_errors_exit_2(self):
        self.assertEqual(run()[0], 2)
        self.assertEqual(run("frobnicate")[0], 2)
        self.assertEqual(run("inspect")[0], 2)
        self.assertEqual(run("bench", self.model, "--threads", "0")[0], 2)
        self.assertEqual(run("run", self.model, "--no-such-flag")[0], 2)
        self.assertEqual(run("inspect", self.model, "--shape", "x")[0], 1)

    # --- bench -----------------------------------------------------------------------------
    def test_bench_json(self):
        code, out, err = run("bench", self.model, "--json", "--warmup", "1", "--iterations", "5",
                             "--profile", "--threads", "2")
        self.assertEqual(code, 0, err)
        r = json.loads(out)
        lat = r["latency_ms"]
        self.assertLessEqual(lat["min"], lat["p50"])
        self.assertLessEqual(lat["p50"], lat["p90"])
        self.assertLessEqual(lat["p90"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["max"])
        self.assertGreater(r["load_ms"], 0)
        # The load's parts are disjoint intervals of it.
        lp = r["load_profile_ms"]
        parts = [lp["read_model"], lp["graph"], lp["kernels"], lp["plan"]]
        self.assertTrue(all(p >= 0 for p in parts), lp)
        self.assertLessEqual(sum(parts), r["load_ms"] + 1e-6)
        self.assertIn("Conv", lp["kernels_by_op"])
        self.assertLessEqual(sum(lp["kernels_by_op"].values()), lp["kernels"] + 1e-6)
        self.assertGreater(r["peak_rss_bytes"], 0)
        self.assertGreater(r["arena_bytes"], 0)
        nodes = r["profile"]["nodes"]
        self.assertGreaterEqual(len(nodes), 1)
        self.assertTrue(all(n["ms"] >= 0 and n["kernel"] for n in nodes))
        self.assertIn("Conv", r["profile"]["ops"])


    def test_bench_reads_input_files(self):
        # The file fixes the symbolic batch: 5 images take more arena than the default batch 1.
        np.save(self.path("x5.npy"), np.random.RandomState(3).randn(5, 3, 8, 8).astype(np.float32))
        code, out, err = run("bench", self.model, "--json", "--iterations", "2")
        self.assertEqual(code, 0, err)
        default = json.loads(out)
        self.assertEqual(default["inputs"]["x"], {"source": "random", "shape": [1, 3, 8, 8]})
        code, out, err = run("bench", self.model, "--json", "--iterations", "2",
                             "--input", "x=" + self.path("x5.npy"))
        self.assertEqual(code, 0, err)
        given = json.loads(out)
        self.assertEqual(given["inputs"]["x"], {"source": "file", "shape": [5, 3, 8, 8]})
        self.assertGreater(given["arena_bytes"], default["arena_bytes"])

    def test_bench_input_errors(self):
        np.save(self.path("i32.npy"), np.zeros((1, 3, 8, 8), np.int32))
        code, _, err = run("bench", self.model, "--iterations", "1",
                           "--input", "nope=" + self.path("i32.npy"))
        self.assert_one_line_error(code, err, "'nope'")
        code, _, err = run("bench", self.model, "--iterations", "1",
                           "--input", "x=" + self.path("i32.npy"))
        self.assert_one_line_error(code, err, "input 'x'", "f32", "i32")
        code, _, err = run("bench", self.model, "--iterations", "1",
                           "--input", "x=" + self.path("missing.npy"))
        self.assert_one_line_error(code, err, "missing.npy")
        code, _, err = run("bench", self.model, "--iterations", "1", "--input", "x")
        self.assertEqual(code, 2, err)  # a malformed argument is a usage error
        self.assertIn("NAME=FILE", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--edgerun", required=True)
    args, rest = parser.parse_known_args()
    EDGERUN = os.path.abspath(args.edgerun)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
