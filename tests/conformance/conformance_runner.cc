// edgerun_conformance: runs the ONNX backend test data (model.onnx + test_data_set_*/*.pb)
// through edgerun and reports which tests pass.
//
// Each test runs in a forked child so that a crash or hang in one kernel becomes that test's
// failure instead of ending the run; the child reports its outcome over a pipe. A test is
// "unsupported" when its model uses an op edgerun has no OpDef or kernel for, or when loading,
// session creation or the test data report StatusCode::kUnsupported (sequence/map/optional
// types, string tensors...). Outputs are compared like numpy.allclose(rtol=1e-3, atol=1e-7,
// equal_nan=True); integer and bool outputs must match exactly; dtype and shape must match.
// The test data defines input shapes. Inputs that edgerun needs constant at session creation
// (Reshape's shape, Resize's scales...) are bound as constants from the test data when the
// session reports them unsupported as runtime inputs (counted in the summary).
// Usage:
//   edgerun_conformance --data /usr/include/onnx/backend/test/data --filter test_conv
//   edgerun_conformance --data DIR --expected tests/conformance/expected_pass.txt
//   edgerun_conformance --data DIR --write-passing /tmp/passing.txt --verbose
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "edgerun/session.h"
#include "edgerun/status.h"
#include "edgerun/tensor.h"
#include "formats/onnx/onnx_tensor.h"
#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "util/compare.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

struct Options {
  fs::path data;
  std::vector<std::string> suites = {"node", "pytorch-converted", "pytorch-operator"};
  std::vector<std::string> filters;  // a test runs when its name contains any of them
  std::string expected;
  std::string write_passing;
  bool verbose = false;
  bool fork = true;
  int timeout_s = 120;
};

enum class Outcome : char { kPass = 'P', kFail = 'F', kUnsupported = 'U' };

struct TestResult {
  Outcome outcome = Outcome::kFail;
  std::string detail;                    // one line: why it failed or is unsupported
  std::vector<std::string> missing_ops;  // for unsupported-op tests, to summarize
};

TestResult Pass() { return {Outcome::kPass, "", {}}; }
TestResult Fail(std::string detail) { return {Outcome::kFail, std::move(detail), {}}; }
TestResult NotSupported(std::string detail) {
  return {Outcome::kUnsupported, std::move(detail), {}};
}
// Unsupported statuses are "cannot run this", everything else is a failure.
TestResult FromStatus(const Status& s, std::string_view stage) {
  std::string detail = fmt::format("{}: {}", stage, s.ToString());
  return s.code() == StatusCode::kUnsupported ? NotSupported(std::move(detail))
                                              : Fail(std::move(detail));
}

// Keeps every reported line on one line, whatever an error message contains.
std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

std::string_view CanonicalDomain(std::string_view d) { return d == "ai.onnx" ? "" : d; }

bool HasReferenceKernel(const Node& node) {
  for (const KernelDef& k : AllKernels()) {
    if (k.path == KernelPath::kReference && k.op_type == node.op_type &&
        k.domain == CanonicalDomain(node.domain)) {
      return true;
    }
  }
  return false;
}

// Ops the model uses that have no OpDef or no kernel, as "Op" or "domain:Op".
std::vector<std::string> MissingOps(const Graph& g) {
  std::set<std::string> missing;
  for (const Node& n : g.nodes) {
    if (FindOpDef(n.domain, n.op_type) == nullptr || !HasReferenceKernel(n)) {
      missing.insert(n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type);
    }
  }
  return {missing.begin(), missing.end()};
}

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Reads <prefix>_0.pb, <prefix>_1.pb, ... until the next index is absent.
Expected<std::vector<NamedTensor>> LoadTensors(const fs::path& dir, std::string_view prefix) {
  std::vector<NamedTensor> out;
  for (int i = 0;; ++i) {
    const fs::path p = dir / fmt::format("{}_{}.pb", prefix, i);
    std::error_code ec;
    if (!fs::exists(p, ec)) break;
    ASSIGN_OR_RETURN(auto named, LoadTensorProtoFile(p.string()));
    out.push_back({std::move(named.first), std::move(named.second)});
  }
  return out;
}

std::vector<fs::path> DataSets(const fs::path& test_dir) {
  std::vector<fs::path> sets;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(test_dir, ec)) {
    if (e.is_directory() && e.path().filename().string().starts_with("test_data_set_")) {
      sets.push_back(e.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

// ONNX's test generator stores bfloat16 data as UINT16 bit patterns (numpy has no bfloat16);
// when the other side says bf16, the same bits are meant.
Tensor ReinterpretAsBf16(const Tensor& t) {
  Expected<Tensor> r = Tensor::FromBytes(DType::kBF16, t.dims(), t.raw(), t.bytes());
  return r.ok() ? std::move(r).value() : t;
}

// Runs one data set with the first `num_runtime` test inputs fed at run time and the rest
// baked into the model as constants.
TestResult RunWithBinding(const Model& loaded, const std::vector<NamedTensor>& inputs,
                          const std::vector<std::string>& input_names,
                          const std::vector<NamedTensor>& outputs, size_t num_runtime,
                          const std::string& set_name) {
  Model model = loaded;
  Graph& g = model.graph;
  SessionOptions options;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const int vi = g.FindValue(input_names[k]);
    Value& v = g.values[vi];
    // The test data defines the shapes: a few tests feed inputs whose shape differs from the
    // model's declaration (e.g. CastLike's 'like' is [1] where the model says 3x4).
    v.shape = ShapeFromDims(inputs[k].tensor.dims());
    if (k < num_runtime) {
      options.input_shapes[input_names[k]] = inputs[k].tensor.dims();
    } else {
      options.constant_inputs[input_names[k]] = inputs[k].tensor;
    }
  }

  Expected<std::unique_ptr<Session>> session = Session::Create(model, options);
  if (!session) return FromStatus(session.status(), set_name + ": Session::Create");
  Session& s = **session;

  for (size_t k = 0; k < num_runtime && k < inputs.size(); ++k) {
    const int idx = s.FindInput(input_names[k]);
    if (idx < 0) {
      return Fail(fmt::format("{}: session has no input '{}'", set_name, input_names[k]));
    }
    Status st = s.SetInput(idx, inputs[k].tensor.view());
    if (!st.ok()) return FromStatus(st, set_name + ": SetInput");
  }
  if (Status st = s.Run(); !st.ok()) return FromStatus(st, set_name + ": Run");

  if (outputs.size() > static_cast<size_t>(s.num_outputs())) {
    return Fail(fmt::format("{}: {} expected outputs, session has {}", set_name, outputs.size(),
                            s.num_outputs()));
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    const NamedTensor& want = outputs[k];
    int idx = want.name.empty() ? -1 : s.FindOutput(want.name);
    if (idx < 0) idx = static_cast<int>(k);
    const TensorView got = s.output(idx);
    const Tensor expected = got.dtype == DType::kBF16 && want.tensor.dtype() == DType::kU16
                                ? ReinterpretAsBf16(want.tensor)
                                : want.tensor;
    test_util::CompareResult r = test_util::AllClose(got, expected.view(), kRtol, kAtol);
    if (!r.ok) {
      return Fail(fmt::format("{}: output '{}': {}", set_name, s.output_name(idx), r.message));
    }
  }
  return Pass();
}

TestResult RunDataSet(const Model& model, const fs::path& set_dir) {
  const std::string set_name = set_dir.filename().string();
  Expected<std::vector<NamedTensor>> inputs = LoadTensors(set_dir, "input");
  if (!inputs) return FromStatus(inputs.status(), set_name);
  Expected<std::vector<NamedTensor>> outputs = LoadTensors(set_dir, "output");
  if (!outputs) return FromStatus(outputs.status(), set_name);
  if (outputs->empty()) return Fail(set_name + ": no output_0.pb");

  // Test inputs are named like the graph inputs; old files may leave the name empty, and then
  // the position among the non-constant graph inputs decides.
  const Graph& g = model.graph;
  std::vector<std::string> input_names;
  for (size_t k = 0; k < inputs->size(); ++k) {
    std::string name = (*inputs)[k].name;
    if (name.empty() || g.FindValue(name) < 0 || !g.IsGraphInput(g.FindValue(name))) {
      if (k >= g.inputs.size()) {
        return Fail(fmt::format("{}: input_{}.pb has no matching graph input ({} inputs)", set_name,
                                k, g.inputs.size()));
      }
      name = g.values[g.inputs[k]].name;
    }
    Tensor& data = (*inputs)[k].tensor;
    if (g.values[g.FindValue(name)].dtype == DType::kBF16 && data.dtype() == DType::kU16) {
      data = ReinterpretAsBf16(data);
    }
    input_names.push_back(std::move(name));
  }

  // edgerun plans memory statically, so inputs that decide shapes (Reshape's shape, Resize's
  // scales, TopK's K...) must be constants at session creation. The backend tests feed them as
  // graph inputs; when the session reports that as unsupported, bind all but the first input as
  // constants from the test data, and failing that, all of them (the graph then runs entirely
  // in constant folding, through the same kernels).
  const size_t n = inputs->size();
  TestResult r = RunWithBinding(model, *inputs, input_names, *outputs, n, set_name);
  for (size_t runtime : {size_t{1}, size_t{0}}) {
    if (r.outcome != Outcome::kUnsupported || runtime >= n) continue;
    TestResult retry = RunWithBinding(model, *inputs, input_names, *outputs, runtime, set_name);
    if (retry.outcome == Outcome::kUnsupported) continue;
    if (retry.outcome == Outcome::kPass) {
      retry.detail = fmt::format("passed with {} input(s) bound as constants", n - runtime);
    }
    return retry;
  }
  return r;
}

TestResult RunTest(const fs::path& test_dir) {
  const fs::path model_path = test_dir / "model.onnx";
  std::error_code ec;
  if (!fs::exists(model_path, ec)) return Fail("no model.onnx");
  Expected<Model> model = LoadModel(model_path.string());
  if (!model) return FromStatus(model.status(), "LoadModel");

  std::vector<std::string> missing = MissingOps(model->graph);
  if (!missing.empty()) {
    TestResult r =
        NotSupported(fmt::format("ops without OpDef or kernel: {}", fmt::join(missing, ", ")));
    r.missing_ops = std::move(missing);
    return r;
  }
  const std::vector<fs::path> sets = DataSets(test_dir);
  if (sets.empty()) return Fail("no test_data_set_* directory");
  TestResult result = Pass();
  for (const fs::path& set : sets) {
    TestResult r = RunDataSet(*model, set);
    if (r.outcome != Outcome::kPass) return r;
    if (!r.detail.empty()) result.detail = r.detail;
  }
  return result;
}

// Wire format child -> parent: outcome char, '\n', missing ops joined by ' ', '\n', detail.
std::string Serialize(const TestResult& r) {
  return fmt::format("{}\n{}\n{}", static_cast<char>(r.outcome), fmt::join(r.missing_ops, " "),
                     OneLine(r.detail));
}

TestResult Deserialize(const std::string& s) {
  const size_t a = s.find('\n');
  const size_t b = a == std::string::npos ? a : s.find('\n', a + 1);
  if (s.empty() || b == std::string::npos) return Fail("test process sent a malformed result");
  TestResult r;
  r.outcome = static_cast<Outcome>(s[0]);
  if (r.outcome != Outcome::kPass && r.outcome != Outcome::kFail &&
      r.outcome != Outcome::kUnsupported) {
    return Fail("test process sent a malformed result");
  }
  std::string ops = s.substr(a + 1, b - a - 1);
  for (size_t p = 0; p < ops.size();) {
    size_t q = ops.find(' ', p);
    if (q == std::string::npos) q = ops.size();
    if (q > p) r.missing_ops.push_back(ops.substr(p, q - p));
    p = q + 1;
  }
  r.detail = s.substr(b + 1);
  return r;
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Runs RunTest in a child process, so crashes, aborts and hangs stay contained.
TestResult RunTestIsolated(const fs::path& test_dir, int timeout_s) {
  int fds[2];
  if (pipe(fds) != 0) return Fail(fmt::format("pipe failed: {}", std::strerror(errno)));
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Fail(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    close(fds[0]);
    const bool ok = WriteAll(fds[1], Serialize(RunTest(test_dir)));
    close(fds[1]);
    _exit(ok ? 0 : 3);
  }
  close(fds[1]);
  std::string received;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // timeout is handled at the top of the loop
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child closed its end (exited or crashed)
    received.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return Fail(fmt::format("timed out after {} s", timeout_s));
  if (WIFSIGNALED(status)) {
    return Fail(
        fmt::format("crashed with signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status))));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Fail(fmt::format("test process exited with status {}", WEXITSTATUS(status)));
  }
  return Deserialize(received);
}

bool Matches(const std::string& name, const std::vector<std::string>& filters) {
  if (filters.empty()) return true;
  return std::any_of(filters.begin(), filters.end(),
                     [&](const std::string& f) { return name.find(f) != std::string::npos; });
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t q = s.find(sep, p);
    if (q == std::string::npos) q = s.size();
    if (q > p) out.push_back(s.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

// One test name per line; blank lines and '#' comments are ignored.
Expected<std::vector<std::string>> ReadNameList(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("{}: cannot open expected-pass list", path));
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const size_t e = line.find_last_not_of(" \t\r");
    names.push_back(line.substr(b, e - b + 1));
  }
  return names;
}

void Usage() {
  std::fprintf(stderr,
               "usage: edgerun_conformance --data DIR [--suites node,pytorch-converted,...]\n"
               "         [--filter SUBSTR[,SUBSTR...]] [--expected FILE] [--write-passing FILE]\n"
               "         [--verbose] [--no-fork] [--timeout SECONDS]\n");
}

// Returns false (after printing why) on bad arguments.
bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "edgerun_conformance: %s needs a value\n", argv[i]);
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--data") {
      if (!value(&v)) return false;
      o->data = v;
    } else if (a == "--suites") {
      if (!value(&v)) return false;
      o->suites = Split(v, ',');
    } else if (a == "--filter") {
      if (!value(&v)) return false;
      o->filters = Split(v, ',');
    } else if (a == "--expected") {
      if (!value(&o->expected)) return false;
    } else if (a == "--write-passing") {
      if (!value(&o->write_passing)) return false;
    } else if (a == "--timeout") {
      if (!value(&v)) return false;
      o->timeout_s = std::atoi(v.c_str());
      if (o->timeout_s <= 0) {
        std::fprintf(stderr, "edgerun_conformance: --timeout needs a positive number\n");
        return false;
      }
    } else if (a == "--verbose" || a == "-v") {
      o->verbose = true;
    } else if (a == "--no-fork") {
      o->fork = false;
    } else if (a == "--help" || a == "-h") {
      Usage();
      std::exit(0);
    } else {
      std::fprintf(stderr, "edgerun_conformance: unknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  if (o->data.empty()) {
    std::fprintf(stderr, "edgerun_conformance: --data is required\n");
    return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  Options opts;
  if (!ParseArgs(argc, argv, &opts)) {
    Usage();
    return 2;
  }
  std::error_code ec;
  if (!fs::is_directory(opts.data, ec)) {
    std::fprintf(stderr, "edgerun_conformance: %s is not a directory\n", opts.data.c_str());
    return 2;
  }

  // Collect tests: <data>/<suite>/<test>/ that hold a model.onnx.
  std::vector<std::pair<std::string, fs::path>> tests;
  for (const std::string& suite : opts.suites) {
    const fs::path dir = opts.data / suite;
    if (!fs::is_directory(dir, ec)) {
      std::fprintf(stderr, "edgerun_conformance: suite directory %s does not exist\n", dir.c_str());
      return 2;
    }
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_directory() && Matches(name, opts.filters)) tests.emplace_back(name, e.path());
    }
  }
  std::sort(tests.begin(), tests.end());

  std::vector<std::string> expected;
  if (!opts.expected.empty()) {
    Expected<std::vector<std::string>> list = ReadNameList(opts.expected);
    if (!list) {
      std::printf("edgerun_conformance: %s\n", list.status().message().c_str());
      std::printf("0 passed, 1 failed\n");
      return 1;
    }
    expected = std::move(*list);
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> passing;
  std::set<std::string> ran;
  std::map<std::string, int> missing_op_counts;
  int passed = 0, failed = 0, unsupported = 0;
  int passed_with_constants = 0;  // needed shape-deciding inputs bound as constants
  for (const auto& [name, dir] : tests) {
    const auto t0 = std::chrono::steady_clock::now();
    const TestResult r = opts.fork ? RunTestIsolated(dir, opts.timeout_s) : RunTest(dir);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ran.insert(name);
    switch (r.outcome) {
      case Outcome::kPass:
        ++passed;
        if (!r.detail.empty()) ++passed_with_constants;
        passing.push_back(name);
        if (opts.verbose) {
          std::printf("PASS %s (%.0f ms)%s%s\n", name.c_str(), ms, r.detail.empty() ? "" : ": ",
                      r.detail.c_str());
        }
        break;
      case Outcome::kFail:
        ++failed;
        std::printf("FAIL %s: %s\n", name.c_str(), OneLine(r.detail).c_str());
        break;
      case Outcome::kUnsupported:
        ++unsupported;
        for (const std::string& op : r.missing_ops) ++missing_op_counts[op];
        std::printf("UNSUPPORTED %s: %s\n", name.c_str(), OneLine(r.detail).c_str());
        break;
    }
    std::fflush(stdout);
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!opts.write_passing.empty()) {
    std::sort(passing.begin(), passing.end());
    std::ofstream out(opts.write_passing);
    for (const std::string& n : passing) out << n << "\n";
    if (!out) {
      std::fprintf(stderr, "edgerun_conformance: cannot write %s\n", opts.write_passing.c_str());
    }
  }

  if (!missing_op_counts.empty()) {
    std::vector<std::pair<int, std::string>> ops;
    for (const auto& [op, n] : missing_op_counts) ops.emplace_back(-n, op);
    std::sort(ops.begin(), ops.end());
    std::string line;
    for (const auto& [neg, op] : ops)
      line += fmt::format("{}{} ({})", line.empty() ? "" : ", ", op, -neg);
    std::printf("missing ops (tests needing them): %s\n", line.c_str());
  }

  // Listed tests must pass; those outside this run's filter are not judged.
  int expected_failures = 0;
  if (!opts.expected.empty()) {
    const std::set<std::string> pass_set(passing.begin(), passing.end());
    int judged = 0;
    for (const std::string& n : expected) {
      if (!Matches(n, opts.filters)) continue;
      ++judged;
      if (pass_set.count(n)) continue;
      ++expected_failures;
      std::printf("EXPECTED-PASS %s: %s\n", n.c_str(),
                  ran.count(n) ? "did not pass" : "not found in the selected suites");
    }
    std::printf("expected: %d listed tests checked, %d did not pass\n", judged, expected_failures);
  }

  std::printf(
      "conformance: %d passed, %d failed, %d unsupported (%zu tests, %.1f s; %d passed "
      "with inputs bound as constants)\n",
      passed, failed, unsupported, tests.size(), total_s, passed_with_constants);
  std::printf("%d passed, %d failed\n", passed, failed);
  return expected_failures > 0 ? 1 : 0;
}

}  // namespace
}  // namespace edgerun

int main(int argc, char** argv) { return edgerun::Main(argc, argv); }
