// A GoogleTest fixture with a fresh temporary directory per test, removed afterwards, and a
// helper that writes a file into it (for loader and CLI-facing tests that need real files).
//
//   class LoaderTest : public edgerun::testing::TempDirTest {};
//   TEST_F(LoaderTest, Reads) { const std::string p = Write("m.onnx", bytes); ... }
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace edgerun::testing {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "edgerun_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Writes `bytes` to `name` inside the directory and returns the path.
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string p = (std::filesystem::path(dir_) / name).string();
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string dir_;
};

}  // namespace edgerun::testing
