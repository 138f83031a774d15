// PackedWeightCache (core/packed_weight_cache.h): the file's round trip, entries found only by
// name and size, old entries kept when new ones are added, and missing, foreign, truncated or
// corrupt files ignored with a note (never a crash), unwritable directories reported.
#include "core/packed_weight_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/temp_dir.h"

namespace edgerun {
namespace {

namespace fs = std::filesystem;

class PackedWeightCacheTest : public testing::TempDirTest {
 protected:
  static std::vector<std::byte> Pattern(size_t n, int seed) {
    std::vector<std::byte> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed * 7) & 0xff);
    return v;
  }
  static bool Holds(PackedWeightCache& c, const std::string& name,
                    const std::vector<std::byte>& want) {
    const std::byte* p = c.Find(name, want.size());
    return p != nullptr && reinterpret_cast<uintptr_t>(p) % 64 == 0 &&
           std::memcmp(p, want.data(), want.size()) == 0;
  }
  // A file with entries "a" (1000 bytes) and "b" (77 bytes) under `key`.
  std::string SaveTwo(const std::string& key) {
    PackedWeightCache c = PackedWeightCache::Open(dir_, key);
    c.Add("a", a_.data(), a_.size());
    c.Add("b", b_.data(), b_.size());
    EXPECT_TRUE(c.Save().ok());
    return c.file();
  }
  std::vector<std::byte> a_ = Pattern(1000, 1), b_ = Pattern(77, 2);
};

TEST_F(PackedWeightCacheTest, MissingFileIsAnEmptyCacheAndNothingToSaveWritesNothing) {
  PackedWeightCache c = PackedWeightCache::Open(dir_, "key");
  EXPECT_EQ(c.Find("a", 1000), nullptr);
  EXPECT_EQ(c.note(), "");
  EXPECT_TRUE(c.Save().ok());
  EXPECT_FALSE(fs::exists(c.file()));
}

TEST_F(PackedWeightCacheTest, SavedEntriesAreFoundByNameAndSize) {
  const std::string file = SaveTwo("key");
  EXPECT_EQ(fs::path(file).parent_path(), fs::path(dir_));
  PackedWeightCache c = PackedWeightCache::Open(dir_, "key");
  EXPECT_EQ(c.file(), file);
  EXPECT_EQ(c.note(), "");
  EXPECT_TRUE(Holds(c, "a", a_));
  EXPECT_TRUE(Holds(c, "b", b_));
  EXPECT_EQ(c.Find("a", 999), nullptr) << "another size is another layout";
  EXPECT_EQ(c.Find("c", 77), nullptr);
  EXPECT_EQ(c.hits(), 2);
  EXPECT_EQ(c.hit_bytes(), 1077u);
  EXPECT_EQ(c.misses(), 0);
}

TEST_F(PackedWeightCacheTest, AddingKeepsTheOldEntriesAndReplacesOnesOfTheSameName) {
  SaveTwo("key");
  const std::vector<std::byte> c_bytes = Pattern(4096, 3), b_new = Pattern(77, 9);
  {
    PackedWeightCache c = PackedWeightCache::Open(dir_, "key");
    c.Add("c", c_bytes.data(), c_bytes.size());
    c.Add("b", b_new.data(), b_new.size());
    EXPECT_EQ(c.misses(), 2);
    EXPECT_EQ(c.added_bytes(), 4096u + 77u);
    ASSERT_TRUE(c.Save().ok());
  }
  PackedWeightCache c = PackedWeightCache::Open(dir_, "key");
  EXPECT_TRUE(Holds(c, "a", a_));
  EXPECT_TRUE(Holds(c, "b", b_new));
  EXPECT_TRUE(Holds(c, "c", c_bytes));
}

TEST_F(PackedWeightCacheTest, AnotherKeyUsesAnotherFileAndAForeignFileIsIgnored) {
  const std::string file = SaveTwo("model one");
  PackedWeightCache other = PackedWeightCache::Open(dir_, "model two");
  EXPECT_NE(other.file(), file);
  EXPECT_EQ(other.Find("a", 1000), nullptr);
  // The same bytes under the other key's file name (a hash collision, or a copied file).
  fs::copy_file(file, other.file());
  PackedWeightCache copied = PackedWeightCache::Open(dir_, "model two");
  EXPECT_EQ(copied.Find("a", 1000), nullptr);
  EXPECT_NE(copied.note().find("another model file"), std::string::npos) << copied.note();
}

TEST_F(PackedWeightCacheTest, TruncatedOrCorruptFilesAreIgnoredThenRewritten) {
  const std::string file = SaveTwo("key");
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 1077u);
  const size_t header = bytes.find('a');  // the first entry's name, inside the header
  ASSERT_NE(header, std::string::npos);
  std::vector<std::string> broken = {
      "",                                 // empty
      bytes.substr(0, 6),                 // inside the magic
      bytes.substr(0, 20),                // inside the key
      bytes.substr(0, header + 3),        // inside the entry table
      bytes.substr(0, bytes.size() - 1),  // the last entry cut short
      "NOTACACHE" + bytes.substr(9),      // another magic
  };
  std::string flipped = bytes;
  flipped[header] = 'z';  // renames an entry: the header hash no longer matches
  broken.push_back(flipped);
  std::string version = bytes;
  version[8] = 9;  // the format version
  broken.push_back(version);
  for (size_t i = 0; i < broken.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    Write(fs::path(file).filename().string(), broken[i]);
    PackedWeightCache c = PackedWeightCache::Open(dir_, "key");
    EXPECT_EQ(c.Find("a", 1000), nullptr);
    EXPECT_EQ(c.Find("b", 77), nullptr);
    EXPECT_NE(c.note().find("ignored " + file), std::string::npos) << c.note();
  }
  // The next save writes a good file again.
  SaveTwo("key");
  PackedWeightCache c = PackedWeightCache::Open(dir_, "key");
  EXPECT_EQ(c.note(), "");
  EXPECT_TRUE(Holds(c, "a", a_));
}

TEST_F(PackedWeightCacheTest, UnwritableDirectoryIsAnErrorNotACrash) {
  const std::string not_a_dir = Write("plain_file", "x");
  PackedWeightCache c = PackedWeightCache::Open(not_a_dir + "/sub", "key");
  c.Add("a", a_.data(), a_.size());
  const Status st = c.Save();
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find(not_a_dir), std::string::npos) << st.message();
}

TEST_F(PackedWeightCacheTest, AFileInUseSurvivesBeingReplaced) {
  SaveTwo("key");
  PackedWeightCache in_use = PackedWeightCache::Open(dir_, "key");
  const std::byte* a = in_use.Find("a", a_.size());
  ASSERT_NE(a, nullptr);
  // Another process replaces the file (renaming a new one over it).
  const std::vector<std::byte> other = Pattern(1000, 5);
  PackedWeightCache writer = PackedWeightCache::Open(dir_, "key");
  writer.Add("a", other.data(), other.size());
  ASSERT_TRUE(writer.Save().ok());
  EXPECT_EQ(std::memcmp(a, a_.data(), a_.size()), 0) << "the mapped old file is intact";
  PackedWeightCache fresh = PackedWeightCache::Open(dir_, "key");
  EXPECT_TRUE(Holds(fresh, "a", other));
}

}  // namespace
}  // namespace edgerun
