#include "core/mapped_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "core/large_buffer.h"
#include "util/temp_dir.h"

namespace edgerun {
namespace {

class MappedFileTest : public testing::TempDirTest {};

TEST_F(MappedFileTest, MapsTheWholeFileAndOutlivesTheDescriptor) {
  std::string bytes(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  const std::string path = Write("weights.bin", bytes);
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto file = MappedFile::Map(fd, bytes.size(), path);
  ::close(fd);
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_EQ(file->size(), bytes.size());
  EXPECT_EQ(std::memcmp(file->data(), bytes.data(), bytes.size()), 0);
  // Dropping read pages from the RSS keeps the contents: they are mapped again from the file.
  DiscardWholePages(file->data(), file->size());
  EXPECT_EQ(std::memcmp(file->data(), bytes.data(), bytes.size()), 0);
  MappedFile moved = std::move(*file);
  EXPECT_EQ(file->data(), nullptr);
  EXPECT_EQ(moved.data()[100], static_cast<std::byte>(bytes[100]));
}

TEST_F(MappedFileTest, ErrorsNameTheFile) {
  auto file = MappedFile::Map(-1, 4096, "missing.onnx");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("missing.onnx"), std::string::npos)
      << file.status().message();
  auto empty = MappedFile::Map(-1, 0, "empty.onnx");  // nothing to map
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->data(), nullptr);
}

}  // namespace
}  // namespace edgerun
