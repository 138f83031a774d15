#!/usr/bin/env python3
"""End-to-end tests of `edgerun preprocess`: tensors against Pillow and OpenCV on real photos
(python3-skimage's sample images), spec files, exit codes and one-line errors.

Usage: preprocess_cli_test.py --edgerun build/bin/edgerun
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

import cv2
import numpy as np
from PIL import Image

EDGERUN = None
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "camera.png", "hubble_deep_field.jpg"]


def run(*args):
    proc = subprocess.run([EDGERUN, *map(str, args)], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def photo(name):
    return os.path.join(SKIMAGE_DATA, name)


class PreprocessCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "out.npy")

    def tearDown(self):
        self.tmp.cleanup()

    def preprocess(self, image, *args):
        code, out, err = run("preprocess", image, "--output", self.out, *args)
        self.assertEqual(code, 0, err)
        return np.load(self.out), out

    def test_pillow_mode_matches_pillow_on_photos(self):
        # Shrinking, enlarging and changing the aspect ratio.
        for name in PHOTOS:
            rgb = Image.open(photo(name)).convert("RGB")
            for w, h in [(224, 224), (333, 170), (rgb.width + 61, rgb.height // 3 + 1)]:
                with self.subTest(image=name, size=(w, h)):
                    ours, _ = self.preprocess(photo(name), "--resize", f"{w}x{h}", "--mode", "pillow",
                                              "--dtype", "u8", "--layout", "nhwc")
                    ref = np.asarray(rgb.resize((w, h), Image.BILINEAR))
                    self.assertEqual(ours.shape, (1, h, w, 3))
                    diff = np.abs(ours[0].astype(int) - ref.astype(int))
                    self.assertLessEqual(diff.max(), 1, f"{name} {w}x{h}: max diff {diff.max()}")

    def test_opencv_chain_on_photo(self):
        # ImageNet-style f32 NCHW, BGR order on OpenCV's side reversed to RGB.
        name = photo("coffee.png")
        ours, stdout = self.preprocess(name, "--resize", "224x224", "--mode", "bilinear",
                                       "--scale", str(1 / 255), "--mean", "0.485,0.456,0.406",
                                       "--std", "0.229,0.224,0.225")
        bgr = cv2.imread(name, cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(cv2.resize(bgr, (224, 224), interpolation=cv2.INTER_LINEAR),
                           cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1 / 255)
        ref = ((rgb - np.float32([0.485, 0.456, 0.406])) / np.float32([0.229, 0.224, 0.225]))
        ref = ref.transpose(2, 0, 1)[None]
        self.assertEqual(ours.dtype, np.float32)
        self.assertEqual(ours.shape, (1, 3, 224, 224))
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
        self.assertIn("transform (source -> tensor)", stdout)

    def test_area_and_nearest_match_opencv(self):
        name = photo("chelsea.png")
        bgr = cv2.imread(name, cv2.IMREAD_COLOR)
        for mode, flag in [("area", cv2.INTER_AREA), ("nearest", cv2.INTER_NEAREST)]:
            ours, _ = self.preprocess(name, "--resize", "150x101", "--mode", mode, "--dtype", "u8",
                                      "--layout", "nhwc", "--order", "bgr")
            ref = cv2.resize(bgr, (150, 101), interpolation=flag)
            self.assertLessEqual(np.abs(ours[0].astype(int) - ref.astype(int)).max(), 1, mode)

    def test_letterbox_f16_and_transform(self):
        ours, stdout = self.preprocess(photo("coffee.png"), "--resize", "320x320", "--letterbox",
                                       "--pad", "114", "--scale", str(1 / 255), "--dtype", "f16")
        self.assertEqual(ours.dtype, np.float16)
        self.assertEqual(ours.shape, (1, 3, 320, 320))
        # coffee.png is 600x400: content 320x213, padded top and bottom.
        self.assertAlmostEqual(float(ours[0, 0, 0, 0]), 114 / 255, places=3)
        self.assertIn("x' = x * 0.53333", stdout)

    def test_spec_file_equals_options(self):
        spec = {"resize": {"width": 96, "height": 64, "mode": "area"}, "order": "bgr",
                "normalize": {"scale": 0.5, "mean": [1, 2, 3], "std": [2, 2, 2]},
                "layout": "nhwc", "dtype": "i8", "quant": {"scale": 0.5, "zero_point": -10}}
        path = os.path.join(self.tmp.name, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        from_spec, stdout = self.preprocess(photo("astronaut.png"), "--spec", path, "--print-spec")
        self.assertIn("mode: area", stdout)
        yaml_path = os.path.join(self.tmp.name, "spec.yaml")
        with open(yaml_path, "w") as f:
            f.write(stdout.split("---\n", 1)[1])
        from_yaml, _ = self.preprocess(photo("astronaut.png"), "--spec", yaml_path)
        from_opts, _ = self.preprocess(photo("astronaut.png"), "--resize", "96x64", "--mode", "area",
                                       "--order", "bgr", "--scale", "0.5", "--mean", "1,2,3",
                                       "--std", "2", "--layout", "nhwc", "--dtype", "i8",
                                       "--quant-scale", "0.5", "--quant-zero-point", "-10")
        self.assertEqual(from_spec.dtype, np.int8)
        np.testing.assert_array_equal(from_spec, from_opts)
        np.testing.assert_array_equal(from_yaml, from_opts)

    def expect_error(self, expected_code, must_contain, *args):
        code, _, err = run(*args)
        self.assertEqual(code, expected_code, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(must_contain, lines[0])

    def test_truncated_and_corrupt_images(self):
        for name in ["hubble_deep_field.jpg", "astronaut.png"]:
            with open(photo(name), "rb") as f:
                data = f.read()
            cut = os.path.join(self.tmp.name, "cut_" + name)
            with open(cut, "wb") as f:
                f.write(data[: len(data) // 2])
            self.expect_error(1, cut, "preprocess", cut, "--output", self.out)
            bad = os.path.join(self.tmp.name, "bad_" + name)
            with open(bad, "wb") as f:
                # JPEG: smash the markers after SOI; PNG: the IHDR chunk (its CRC then fails).
                f.write(data[:2] + bytes(b ^ 0x5A for b in data[2:40]) + data[40:])
            self.expect_error(1, bad, "preprocess", bad, "--output", self.out)
        self.assertFalse(os.path.exists(self.out))
        self.expect_error(1, "/nonexistent.png", "preprocess", "/nonexistent.png", "--output", self.out)

    def test_usage_errors(self):
        img = photo("camera.png")
        self.expect_error(2, "--resize '224'", "preprocess", img, "--resize", "224", "--output", self.out)
        self.expect_error(2, "unknown value 'cubic'", "preprocess", img, "--mode", "cubic",
                          "--output", self.out)
        self.expect_error(2, "--mean '1,2'", "preprocess", img, "--mean", "1,2", "--output", self.out)
        self.expect_error(2, "normalize.std[0]", "preprocess", img, "--std", "0", "--output", self.out)
        spec = os.path.join(self.tmp.name, "s.yaml")
        with open(spec, "w") as f:
            f.write("resize: {width: 10, height: 10, mode: cubic}\n")
        self.expect_error(2, "cannot be combined with --spec", "preprocess", img, "--spec", spec,
                          "--resize", "3x3", "--output", self.out)
        self.expect_error(1, "resize.mode: unknown value 'cubic'", "preprocess", img, "--spec", spec,
                          "--output", self.out)
        self.expect_error(1, "order gray needs a gray input", "preprocess", img, "--order", "gray",
                          "--output", self.out)


def main():
    global EDGERUN
    parser = argparse.ArgumentParser()
    parser.add_argument("--edgerun", required=True)
    args, rest = parser.parse_known_args()
    EDGERUN = os.path.abspath(args.edgerun)
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
