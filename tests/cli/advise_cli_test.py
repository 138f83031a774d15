#!/usr/bin/env python3
"""End-to-end tests of `edgerun advise`: listings, exit codes, one-line errors, JSON, matrix.

Models are generated here with the onnx Python package (Debian's python3-onnx).
Usage: advise_cli_test.py --edgerun build/bin/edgerun
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EDGERUN = None
KB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "advisor")


def run(*args):
    proc = subprocess.run([EDGERUN, "advise", *map(str, args)], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def cnn_model(path, producer="pytorch"):
    rng = np.random.RandomState(0)
    w = numpy_helper.from_array(rng.randn(8, 3, 3, 3).astype(np.float32) * 0.1, "w")
    fc = numpy_helper.from_array(rng.randn(8, 10).astype(np.float32) * 0.1, "fc")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "fc"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], initializer=[w, fc])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name=producer)
    onnx.save(model, path)


class AdviseCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.model = os.path.join(self.tmp.name, "cnn.onnx")
        cnn_model(self.model)

    def tearDown(self):
        self.tmp.cleanup()

    def test_lists_one_name_per_line(self):
        code, out, _ = run("--list-targets")
        self.assertEqual(code, 0)
        targets = out.split()
        self.assertGreaterEqual(len(targets), 25)
        for t in ("cortex-m4", "raspberry-pi-4", "coral-usb", "jetson-orin-nano", "generic-x86-64-linux"):
            self.assertIn(t, targets)
        code, out, _ = run("--list-runtimes")
        self.assertEqual(code, 0)
        runtimes = out.split()
        for r in ("tflm", "tflite-xnnpack", "tflite-edgetpu", "ort-cpu", "tensorrt", "openvino-myriad", "edgerun"):
            self.assertIn(r, runtimes)
        self.assertEqual(len(runtimes), len(set(runtimes)))

    def test_text_and_json_decision(self):
        code, out, err = run(self.model, "--target", "raspberry-pi-4")
        self.assertEqual(code, 0, err)
        self.assertIn("viable (", out)
        self.assertIn("eliminated (", out)
        code, out, err = run(self.model, "--target", "cortex-m4", "--ram", "64KB", "--json")
        self.assertEqual(code, 0, err)
        j = json.loads(out)
        self.assertEqual(j["target"]["name"], "cortex-m4")
        self.assertEqual(j["target"]["budget_bytes"], 65536)
        self.assertTrue(all(v["runtime"].startswith("tflm") for v in j["viable"]))
        stages = {e["stage"] for e in j["eliminated"]}
        self.assertLessEqual(stages, {"hardware", "memory", "format", "operators"})
        for v in j["viable"]:
            self.assertEqual(set(v["memory"]) >= {"weights_bytes", "arena_bytes", "runtime_bytes", "total_bytes", "budget_bytes"}, True)

    def test_all_targets_matrix_and_probe(self):
        code, out, err = run(self.model, "--all-targets", "--probe")
        self.assertEqual(code, 0, err)
        self.assertIn("raspberry-pi-5", out)
        self.assertIn("probe edgerun: ok", out)
        code, out, err = run(self.model, "--all-targets", "--json")
        self.assertEqual(code, 0, err)
        j = json.loads(out)
        self.assertGreaterEqual(len(j["targets"]), 25)
        code, out, err = run(self.model, "--target", "generic-x86-64-linux", "--probe", "--json")
        self.assertEqual(code, 0, err)
        probe = json.loads(out)["probe"]
        self.assertEqual(probe[0]["runtime"], "edgerun")
        self.assertEqual(probe[0]["status"], "ok")

    def test_unknown_target_suggests_nearest(self):
        code, out, err = run(self.model, "--target", "raspbery-pi4")
        self.assertEqual(code, 2)
        self.assertIn("unknown target 'raspbery-pi4'", err)
        self.assertIn("raspberry-pi-4", err)
        self.assertEqual(len(err.strip().splitlines()), 1)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run()[0], 2)                                   # no model
        self.assertEqual(run(self.model)[0], 2)                         # no target
        self.assertEqual(run(self.model, "--target", "coral-usb", "--all-targets")[0], 2)
        self.assertEqual(run(self.model, "--target", "coral-usb", "--ram", "lots")[0], 2)
        self.assertEqual(run(self.model, "--target", "coral-usb", "--framework", "jax")[0], 2)
        self.assertEqual(run(self.model, "--target", "coral-usb", "--precision", "int4")[0], 2)

    def test_bad_model_exits_1_naming_the_file(self):
        bad = os.path.join(self.tmp.name, "bad.onnx")
        with open(bad, "wb") as f:
            f.write(b"\x08\x07garbage that is not a model")
        code, _, err = run(bad, "--target", "coral-usb")
        self.assertEqual(code, 1)
        self.assertIn("bad.onnx", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        code, _, err = run(os.path.join(self.tmp.name, "missing.onnx"), "--target", "coral-usb")
        self.assertEqual(code, 1)
        self.assertIn("missing.onnx", err)

    def test_malformed_kb_names_file_entry_and_field(self):
        kb = os.path.join(self.tmp.name, "kb")
        shutil.copytree(KB_DIR, kb)
        path = os.path.join(kb, "targets.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("    ram: 32KB\n", "    ram: thirty-two\n", 1))
        code, _, err = run("--kb", kb, "--list-targets")
        self.assertEqual(code, 1)
        self.assertIn("targets.yaml", err)
        self.assertIn("'cortex-m0plus'", err)
        self.assertIn("field 'ram'", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        # The environment variable points at the KB too.
        env = dict(os.environ, EDGERUN_ADVISOR_DATA=kb)
        proc = subprocess.run([EDGERUN, "advise", "--list-targets"], capture_output=True, text=True, env=env)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("field 'ram'", proc.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--edgerun", required=True)
    args, rest = parser.parse_known_args()
    EDGERUN = os.path.abspath(args.edgerun)
    unittest.main(argv=[sys.argv[0]] + rest)
