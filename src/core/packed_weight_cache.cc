#include "core/packed_weight_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/hash.h"

namespace edgerun {
namespace {

// File layout (little-endian, as written by this CPU; the key names the CPU):
//   "EDGERUNW" u32 version  u32 key_bytes key  u32 count
//   count x { u32 name_bytes name  u64 offset  u64 bytes }
//   u64 hash of everything above
//   the buffers, each at a multiple of kEntryAlignment from the start of the file.
constexpr char kMagic[8] = {'E', 'D', 'G', 'E', 'R', 'U', 'N', 'W'};
constexpr size_t kEntryAlignment = 64;

size_t RoundUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Reads the header out of the mapping, every length checked against what is left.
class Reader {
 public:
  Reader(const std::byte* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  bool Read(T* out) {
    if (size_ - pos_ < sizeof(T)) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool ReadString(uint32_t bytes, std::string* out) {
    if (size_ - pos_ < bytes) return false;
    out->assign(reinterpret_cast<const char*>(data_ + pos_), bytes);
    pos_ += bytes;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const std::byte* data_;
  size_t size_;
  size_t pos_ = 0;
};

template <typename T>
void Append(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

Status WriteAll(int fd, const void* data, size_t bytes, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(path + ": cannot write: " + std::strerror(errno));
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

PackedWeightCache PackedWeightCache::Open(const std::string& dir, const std::string& key) {
  PackedWeightCache c;
  Hasher h;
  h.Str(key);
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.packed", static_cast<unsigned long long>(h.h));
  c.file_ = dir + "/" + name;
  c.key_ = key;
  const int fd = ::open(c.file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return c;  // no cache yet
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    c.note_ = "ignored " + c.file_ + ": empty";
    return c;
  }
  Expected<MappedFile> mapped = MappedFile::Map(fd, static_cast<size_t>(st.st_size), c.file_);
  ::close(fd);
  if (!mapped.ok()) {
    c.note_ = "ignored " + mapped.status().message();
    return c;
  }
  c.mapping_ = std::move(mapped).value();
  if (Status parsed = c.Parse(); !parsed.ok()) {
    c.note_ = "ignored " + c.file_ + ": " + parsed.message();
    c.stored_.clear();
    c.mapping_ = MappedFile();
  }
  return c;
}

Status PackedWeightCache::Parse() {
  Reader r(mapping_.data(), mapping_.size());
  char magic[8];
  uint32_t version = 0, key_bytes = 0, count = 0;
  if (!r.Read(&magic) || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    return InvalidArgument("not a packed-weight cache file");
  }
  if (!r.Read(&version) || version != kFormatVersion) {
    return InvalidArgument("written by another format version");
  }
  std::string key;
  if (!r.Read(&key_bytes) || !r.ReadString(key_bytes, &key)) return InvalidArgument("truncated");
  if (key != key_) return InvalidArgument("written for another model file, CPU or library");
  if (!r.Read(&count)) return InvalidArgument("truncated");
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t name_bytes = 0;
    std::string name;
    uint64_t offset = 0, bytes = 0;
    if (!r.Read(&name_bytes) || !r.ReadString(name_bytes, &name) || !r.Read(&offset) ||
        !r.Read(&bytes)) {
      return InvalidArgument("truncated");
    }
    if (offset % kEntryAlignment != 0 || offset > mapping_.size() ||
        bytes > mapping_.size() - offset) {
      return InvalidArgument("entry '" + name + "' lies outside the file");
    }
    stored_[std::move(name)] = Stored{static_cast<size_t>(offset), static_cast<size_t>(bytes)};
  }
  Hasher h;
  h.Bytes(mapping_.data(), r.pos());
  uint64_t stored_hash = 0;
  if (!r.Read(&stored_hash)) return InvalidArgument("truncated");
  if (stored_hash != h.h) return InvalidArgument("its header is corrupt");
  return Status::Ok();
}

const std::byte* PackedWeightCache::Find(std::string_view entry, size_t bytes) {
  auto it = stored_.find(std::string(entry));
  if (it == stored_.end() || it->second.bytes != bytes) return nullptr;
  ++hits_;
  hit_bytes_ += bytes;
  return mapping_.data() + it->second.offset;
}

void PackedWeightCache::Add(std::string entry, const void* data, size_t bytes) {
  added_.push_back(Added{std::move(entry), data, bytes});
}

size_t PackedWeightCache::added_bytes() const {
  size_t total = 0;
  for (const Added& a : added_) total += a.bytes;
  return total;
}

Status PackedWeightCache::Save() {
  if (added_.empty()) return Status::Ok();
  // Old entries stay (another thread count or input shape may use them), unless added again.
  std::vector<Added> all;
  std::unordered_map<std::string, size_t> index;
  for (const Added& a : added_) {
    index.emplace(a.name, all.size());
    all.push_back(a);
  }
  for (const auto& [name, s] : stored_) {
    if (index.count(name) == 0) all.push_back(Added{name, mapping_.data() + s.offset, s.bytes});
  }
  std::string header(kMagic, sizeof(kMagic));
  Append(header, kFormatVersion);
  Append(header, static_cast<uint32_t>(key_.size()));
  header += key_;
  Append(header, static_cast<uint32_t>(all.size()));
  size_t header_bytes = header.size() + sizeof(uint64_t);
  for (const Added& a : all)
    header_bytes += sizeof(uint32_t) + a.name.size() + 2 * sizeof(uint64_t);
  std::vector<size_t> offsets;
  size_t end = RoundUp(header_bytes, kEntryAlignment);
  for (const Added& a : all) {
    offsets.push_back(end);
    end = RoundUp(end + a.bytes, kEntryAlignment);
  }
  for (size_t i = 0; i < all.size(); ++i) {
    Append(header, static_cast<uint32_t>(all[i].name.size()));
    header += all[i].name;
    Append(header, static_cast<uint64_t>(offsets[i]));
    Append(header, static_cast<uint64_t>(all[i].bytes));
  }
  Hasher h;
  h.Bytes(header.data(), header.size());
  Append(header, h.h);

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ec);
  // A name of its own per writer: sessions of the same model may be created on several threads
  // or processes at once, and each renames a complete file into place.
  std::string tmp = file_ + ".tmp.XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return IoError(tmp + ": cannot create: " + std::strerror(errno));
  ::fchmod(fd, 0644);  // mkostemp makes it private to the user; the cache is shared like a model
  Status st = WriteAll(fd, header.data(), header.size(), tmp);
  size_t pos = header.size();
  static constexpr char kZeros[kEntryAlignment] = {};
  for (size_t i = 0; i < all.size() && st.ok(); ++i) {
    st = WriteAll(fd, kZeros, offsets[i] - pos, tmp);
    if (st.ok()) st = WriteAll(fd, all[i].data, all[i].bytes, tmp);
    pos = offsets[i] + all[i].bytes;
  }
  // On disk before the rename: entries carry no checksum, so a crash must not leave a renamed
  // file whose data never reached the disk.
  if (st.ok() && ::fdatasync(fd) != 0) {
    st = IoError(tmp + ": cannot sync: " + std::strerror(errno));
  }
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), file_.c_str()) != 0) {
    st = IoError(file_ + ": cannot rename the new file over it: " + std::strerror(errno));
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace edgerun
