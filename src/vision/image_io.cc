#include "edgerun/vision/image_io.h"

#include <fmt/format.h>
#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

namespace edgerun::vision {
namespace {

Expected<Image> DecodeJpeg(std::span<const uint8_t> bytes, std::string_view name) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) return Internal(fmt::format("{}: cannot create a JPEG decoder", name));
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  auto* data = const_cast<unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  if (tjDecompressHeader3(tj.get(), data, size, &w, &h, &subsamp, &colorspace) != 0) {
    return InvalidArgument(
        fmt::format("{}: corrupt JPEG header: {}", name, tjGetErrorStr2(tj.get())));
  }
  ASSIGN_OR_RETURN(Image img, Image::Create(PixelFormat::kRGB, w, h));
  // STOPONWARNING: libjpeg reports truncated data as a warning and pads with grey otherwise.
  if (tjDecompress2(tj.get(), data, size, img.plane_data(0), w,
                    static_cast<int>(img.plane_stride(0)), h, TJPF_RGB,
                    TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0) {
    return InvalidArgument(
        fmt::format("{}: corrupt or truncated JPEG: {}", name, tjGetErrorStr2(tj.get())));
  }
  return img;
}

Expected<Image> DecodePng(std::span<const uint8_t> bytes, std::string_view name) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return InvalidArgument(fmt::format("{}: corrupt PNG: {}", name, png.message));
  }
  png.format = PNG_FORMAT_RGB;
  Expected<Image> img =
      Image::Create(PixelFormat::kRGB, static_cast<int>(png.width), static_cast<int>(png.height));
  if (!img) {
    png_image_free(&png);
    return img.status().WithPrefix(name);
  }
  // Alpha is composited on black (background nullptr); gamma follows libpng's sRGB defaults.
  if (!png_image_finish_read(&png, nullptr, img->plane_data(0),
                             static_cast<png_int_32>(img->plane_stride(0)), nullptr)) {
    const std::string msg = png.message;
    png_image_free(&png);
    return InvalidArgument(fmt::format("{}: corrupt or truncated PNG: {}", name, msg));
  }
  // Warnings (e.g. an sRGB profile libpng considers inaccurate) are benign; damage such as a
  // CRC mismatch or missing data is an error above.
  return img;
}

}  // namespace

Expected<Image> DecodeImage(std::span<const uint8_t> bytes, std::string_view source_name) {
  static constexpr uint8_t kPngSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    return DecodeJpeg(bytes, source_name);
  }
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPngSig, 8) == 0) {
    return DecodePng(bytes, source_name);
  }
  return InvalidArgument(
      fmt::format("{}: not a JPEG or PNG file ({} bytes)", source_name, bytes.size()));
}

Expected<Image> DecodeImageFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open image file", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return IoError(fmt::format("{}: read error", path));
  return DecodeImage(bytes, path);
}

}  // namespace edgerun::vision
