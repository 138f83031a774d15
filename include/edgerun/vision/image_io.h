// Decoding image files for the CLI and tests: JPEG with libjpeg-turbo (TurboJPEG API), PNG with
// libpng's simplified API. Output is always 8-bit RGB (gray, palette, 16-bit and alpha inputs
// are converted by the decoder libraries).
//
// Truncated or corrupt files fail with one line naming the file. For JPEG, libjpeg's warnings
// ("premature end of data") are errors, so a partial image never reaches a model. For PNG,
// libpng's warnings about ancillary chunks (an sRGB/iCCP chunk with an invalid rendering intent,
// as in skimage's page.png) are not errors; CRC mismatches and missing data are.
//   ASSIGN_OR_RETURN(Image img, DecodeImageFile("cat.jpg"));
//   ASSIGN_OR_RETURN(Image img2, DecodeImage(bytes, "<camera>"));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "edgerun/status.h"
#include "edgerun/vision/image.h"

namespace edgerun::vision {

// Detects the format from the signature bytes (not the extension).
Expected<Image> DecodeImage(std::span<const uint8_t> bytes, std::string_view source_name);
Expected<Image> DecodeImageFile(const std::string& path);

}  // namespace edgerun::vision
