#!/usr/bin/env node
// Runs an ONNX model with onnxruntime-node (the reference oracle for edgerun's fixtures).
//
// Inputs and outputs are .npy files (v1-v3 headers read, v1 written; little-endian, C order).
// Outputs land in OUT_DIR/<output name>.npy with the name sanitized to [A-Za-z0-9_.-].
// --bench W K additionally runs W warm-up and K timed inferences and prints one JSON object
// for comparing against `edgerun bench --json`, with the same protocol: session creation
// (load_ms), one first inference (first_inference_ms), W untimed runs, K timed runs, and
// nearest-rank percentiles in latency_ms {min, mean, p50, p90, p99, max}. It also reports
// require_ms (loading the native addon, not part of load_ms), load_to_first_result_ms
// (load_ms + first_inference_ms; reading the .npy input between them is not counted) and
// peak_rss_bytes (the process's high-water mark, node's own included). --baseline-rss prints
// the peak RSS of node running this script without onnxruntime, to subtract from it.
//
// Usage:
//   node scripts/ort_run.js model.onnx out/ x=input.npy [--threads N]
//   node scripts/ort_run.js model.onnx - input.npy --threads 1 --bench 5 50   (OUT_DIR '-': none)
//   node scripts/ort_run.js model.onnx out/ input.npy --opt-level disabled   (no graph fusions)
//   node scripts/ort_run.js --baseline-rss                                   (node alone)
// onnxruntime-node is taken from $EDGERUN_CACHE/npm/node_modules (default
// ~/.cache/edgerun), where scripts/fetch_fixtures.sh installs it.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function fail(msg) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(1);
}

function loadOrt() {
  const cache = process.env.EDGERUN_CACHE || path.join(os.homedir(), '.cache', 'edgerun');
  const candidate = path.join(cache, 'npm', 'node_modules', 'onnxruntime-node');
  try {
    return require(candidate);
  } catch (e) {
    try {
      return require('onnxruntime-node');
    } catch (e2) {
      fail(`cannot load onnxruntime-node from ${candidate} (${e.message}); ` +
           'run scripts/fetch_fixtures.sh first');
    }
  }
}

// npy descr (without byte-order char) <-> onnxruntime tensor type and typed array.
const kDescrToType = {
  f4: ['float32', Float32Array], f8: ['float64', Float64Array], f2: ['float16', Uint16Array],
  i1: ['int8', Int8Array], u1: ['uint8', Uint8Array], i2: ['int16', Int16Array],
  u2: ['uint16', Uint16Array], i4: ['int32', Int32Array], u4: ['uint32', Uint32Array],
  i8: ['int64', BigInt64Array], u8: ['uint64', BigUint64Array], b1: ['bool', Uint8Array],
};
const kTypeToDescr = {
  float32: '<f4', float64: '<f8', float16: '<f2', int8: '|i1', uint8: '|u1', int16: '<i2',
  uint16: '<u2', int32: '<i4', uint32: '<u4', int64: '<i8', uint64: '<u8', bool: '|b1',
};

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not an npy file`);
  const major = buf[6];
  let headerLen, offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(`${file}: truncated header`);
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    fail(`${file}: unsupported npy version ${major}`);
  }
  if (offset + headerLen > buf.length) fail(`${file}: truncated header`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', offset, offset + headerLen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`${file}: malformed header ${header.trim()}`);
  if (fortran[1] === 'True') fail(`${file}: fortran_order arrays are not supported`);
  const order = descr[1][0];
  const key = descr[1].slice(1);
  if (order === '>' || !kDescrToType[key]) fail(`${file}: unsupported dtype '${descr[1]}'`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const [type, Ctor] = kDescrToType[key];
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  const bytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - dataStart < bytes) fail(`${file}: truncated data (${buf.length - dataStart} of ${bytes} bytes)`);
  // Copy so the typed array is aligned regardless of the header length.
  const copy = new ArrayBuffer(bytes);
  new Uint8Array(copy).set(buf.subarray(dataStart, dataStart + bytes));
  let data = new Ctor(copy);
  if (type === 'bool') data = new Uint8Array(copy);
  return { type, dims, data };
}

function writeNpy(file, type, dims, data) {
  const descr = kTypeToDescr[type];
  if (!descr) fail(`${file}: cannot write output of type ${type}`);
  const shapeStr = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // v1 layout: 10-byte preamble + header padded with spaces to a multiple of 64, ending in \n.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - 10 - header.length - 1) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let body;
  if (type === 'bool') {
    body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  } else {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

function sanitize(name) {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return s.length && s !== '.' && s !== '..' ? s : 'output';
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

// The process's peak resident set so far. On Linux this is VmHWM: getrusage's maxRSS also
// counts the image of the parent that forked this process before it exec'ed node (a Python
// benchmark driver, say), which can be larger than node itself.
function peakRssBytes() {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch (e) {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS * 1024;  // Node reports it in KiB
}

// The onnxruntime-node version actually loaded (it may come from the cache or from NODE_PATH).
function ortVersion(ort) {
  return ort.env && ort.env.versions ? ort.env.versions.node : undefined;
}

function parseArgs(argv) {
  const args = { threads: 1, bench: null, optLevel: 'all', baselineRss: false, positional: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--threads') {
      args.threads = parseInt(argv[++i], 10);
      if (!(args.threads >= 1)) fail('--threads needs a positive integer');
    } else if (a === '--opt-level') {
      args.optLevel = argv[++i];
      if (!['disabled', 'basic', 'extended', 'all'].includes(args.optLevel)) {
        fail('--opt-level is one of disabled, basic, extended, all');
      }
    } else if (a === '--bench') {
      const w = parseInt(argv[++i], 10);
      const k = parseInt(argv[++i], 10);
      if (!(w >= 0) || !(k >= 1)) fail('--bench needs W >= 0 and K >= 1');
      args.bench = { warmup: w, iterations: k };
    } else if (a === '--baseline-rss') {
      args.baselineRss = true;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node ort_run.js MODEL.onnx OUT_DIR|- [NAME=]input.npy ... ' +
                           '[--threads N] [--opt-level disabled|basic|extended|all] [--bench W K]\n' +
                           '       node ort_run.js --baseline-rss\n');
      process.exit(0);
    } else {
      args.positional.push(a);
    }
  }
  if (args.baselineRss) return args;
  if (args.positional.length < 2) fail('usage: ort_run.js MODEL.onnx OUT_DIR|- [NAME=]input.npy ... [--threads N] [--bench W K]');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.baselineRss) {
    process.stdout.write(JSON.stringify({ runtime: 'node', node_version: process.version,
                                          peak_rss_bytes: peakRssBytes() }) + '\n');
    return;
  }
  const [modelPath, outDir, ...inputSpecs] = args.positional;
  const tRequire = nowMs();
  const ort = loadOrt();
  const requireMs = nowMs() - tRequire;

  const t0 = nowMs();
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: args.optLevel,
  });
  const loadMs = nowMs() - t0;

  const feeds = {};
  let next = 0;
  for (const spec of inputSpecs) {
    const eq = spec.indexOf('=');
    let name, file;
    if (eq > 0) {
      name = spec.slice(0, eq);
      file = spec.slice(eq + 1);
    } else {
      // Unnamed inputs fill the model's inputs in declaration order.
      while (next < session.inputNames.length && feeds[session.inputNames[next]]) ++next;
      if (next >= session.inputNames.length) fail(`too many inputs: ${spec}`);
      name = session.inputNames[next];
      file = spec;
    }
    if (!session.inputNames.includes(name)) {
      fail(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    const { type, dims, data } = readNpy(file);
    feeds[name] = new ort.Tensor(type, data, dims);
  }
  const missing = session.inputNames.filter((n) => !feeds[n]);
  if (missing.length) fail(`missing input(s): ${missing.join(', ')}`);

  const t1 = nowMs();
  const results = await session.run(feeds);
  const firstMs = nowMs() - t1;

  if (outDir !== '-') {
    fs.mkdirSync(outDir, { recursive: true });
    for (const name of session.outputNames) {
      const t = results[name];
      const file = path.join(outDir, `${sanitize(name)}.npy`);
      writeNpy(file, t.type, t.dims, t.data);
      if (!args.bench) process.stdout.write(`ort_run: wrote ${file} (${t.type} ${t.dims.join('x')})\n`);
    }
  }

  if (args.bench) {
    for (let i = 0; i < args.bench.warmup; ++i) await session.run(feeds);
    const times = [];
    for (let i = 0; i < args.bench.iterations; ++i) {
      const s = nowMs();
      await session.run(feeds);
      times.push(nowMs() - s);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const round = (v) => Math.round(v * 1000) / 1000;
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const stats = {
      runtime: 'onnxruntime-node',
      version: ortVersion(ort),
      model: modelPath,
      threads: args.threads,
      warmup: args.bench.warmup,
      iterations: args.bench.iterations,
      require_ms: round(requireMs),
      load_ms: round(loadMs),
      first_inference_ms: round(firstMs),
      load_to_first_result_ms: round(loadMs + firstMs),
      latency_ms: {
        min: round(sorted[0]), mean: round(mean), p50: round(percentile(sorted, 50)),
        p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)),
        max: round(sorted[sorted.length - 1]),
      },
      peak_rss_bytes: peakRssBytes(),
    };
    process.stdout.write(JSON.stringify(stats) + '\n');
  }
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
