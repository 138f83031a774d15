// A file of packed weights that the next load of the same model maps instead of packing again, as
// OpenVINO's cache_dir, TensorRT's serialized engines or TFLite's XNNPACK weight cache do.
//
// Packing writes every weight into fresh memory in the kernel's layout; on the KVM guests we
// measure, first touches of fresh memory made that 60-300 ms of ResNet-50's load. Mapped from the
// page cache, the same bytes cost a few milliseconds, stay clean (the OS can drop and re-read them
// under memory pressure instead of swapping) and are shared by every process running the model.
//
//   PackedWeightCache cache = PackedWeightCache::Open(dir, key);   // never fails: empty if absent
//   if (const std::byte* p = cache.Find(entry, bytes)) { use p; }  // valid while `cache` lives
//   else { pack into buffer; cache.Add(entry, buffer, bytes); }    // buffer must outlive Save()
//   Status written = cache.Save();   // only when something was added; atomic rename
//
// The file is <dir>/<hash of key>.packed. `key` names everything the file's entries depend on
// beyond each entry's own name (the model file's identity, the CPU, library versions); a file
// whose stored key differs, or that is truncated or malformed, is ignored (note() says why) and
// rewritten by the next Save. Entry names carry what a single packed buffer depends on (node,
// input, layouts, a fingerprint of the source weights). Entries are not checksummed: like a
// compiled-model cache, the directory is trusted; delete it to start over. Files are replaced by
// renaming a complete new file over them, so a mapping in use never sees a partial file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mapped_file.h"
#include "edgerun/status.h"

namespace edgerun {

class PackedWeightCache {
 public:
  // Format of the file; raised when the layout of the file or of any packed buffer changes.
  static constexpr uint32_t kFormatVersion = 1;

  static PackedWeightCache Open(const std::string& dir, const std::string& key);

  PackedWeightCache() = default;
  PackedWeightCache(PackedWeightCache&&) = default;
  PackedWeightCache& operator=(PackedWeightCache&&) = default;

  // The cached bytes of `entry` (64-byte aligned, read-only), or null when the file has no such
  // entry or it holds a different number of bytes.
  const std::byte* Find(std::string_view entry, size_t bytes);
  // Remembers a buffer to write at Save(); it is read then, not now.
  void Add(std::string entry, const void* data, size_t bytes);

  // Writes the file when Add was called: the entries read from the old file, then the added
  // ones. Failures (read-only directory, full disk) are returned and leave any old file intact.
  Status Save();

  const std::string& file() const { return file_; }
  // "", or why an existing file was not used ("written by another format version", ...).
  const std::string& note() const { return note_; }
  int hits() const { return hits_; }
  int misses() const { return static_cast<int>(added_.size()); }
  size_t hit_bytes() const { return hit_bytes_; }
  size_t added_bytes() const;

 private:
  struct Stored {
    size_t offset = 0;
    size_t bytes = 0;
  };
  struct Added {
    std::string name;
    const void* data = nullptr;
    size_t bytes = 0;
  };
  Status Parse();

  std::string file_;
  std::string key_;
  std::string note_;
  MappedFile mapping_;
  std::unordered_map<std::string, Stored> stored_;
  std::vector<Added> added_;
  int hits_ = 0;
  size_t hit_bytes_ = 0;
};

}  // namespace edgerun
