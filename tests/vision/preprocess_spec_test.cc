// PreprocessSpec: YAML/JSON round trips, defaults, and errors that name the field.
#include "edgerun/vision/preprocess_spec.h"

#include <gtest/gtest.h>

#include <string>

namespace edgerun::vision {
namespace {

PreprocessSpec NonDefaultSpec() {
  PreprocessSpec s;
  s.crop = {4, 6, 100, 80};
  s.width = 640;
  s.height = 384;
  s.resize_mode = ResizeMode::kPillowBilinear;
  s.letterbox = true;
  s.pad_value = 0.5f;
  s.alignment = Alignment::kTopLeft;
  s.yuv_matrix = YuvMatrix::kBt709;
  s.yuv_range = YuvRange::kFull;
  s.order = ChannelOrder::kBgr;
  s.mean = {0.485f, 0.456f, 0.406f};
  s.std = {0.229f, 0.224f, 0.225f};
  s.scale = 1.0f / 255;
  s.layout = Layout::kNhwc;
  s.dtype = OutputDType::kI8;
  s.quant_scale = 0.0186f;
  s.quant_zero_point = -14;
  return s;
}

TEST(PreprocessSpecTest, RoundTripsThroughYamlAndJson) {
  const PreprocessSpec s = NonDefaultSpec();
  auto from_yaml = PreprocessSpec::FromYaml(s.ToYaml());
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status().message() << "\n" << s.ToYaml();
  EXPECT_EQ(*from_yaml, s);
  auto from_json = PreprocessSpec::FromJson(s.ToJson());
  ASSERT_TRUE(from_json.ok()) << from_json.status().message() << "\n" << s.ToJson();
  EXPECT_EQ(*from_json, s);
  EXPECT_NE(s, PreprocessSpec());
  const PreprocessSpec d;
  EXPECT_EQ(*PreprocessSpec::FromYaml(d.ToYaml()), d);
}

TEST(PreprocessSpecTest, ParsesHandWrittenYaml) {
  auto s = PreprocessSpec::FromYaml(R"(
resize: {width: 224, height: 224, mode: area}
order: BGR
normalize:
  scale: 0.00392156862745098
  mean: [0.485, 0.456, 0.406]
  std: 0.5
letterbox: true
)");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->width, 224);
  EXPECT_EQ(s->resize_mode, ResizeMode::kArea);
  EXPECT_EQ(s->order, ChannelOrder::kBgr);
  EXPECT_TRUE(s->letterbox);
  EXPECT_FLOAT_EQ(s->std[2], 0.5f);
  EXPECT_EQ(s->layout, Layout::kNchw);  // default kept
  auto empty = PreprocessSpec::FromYaml("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, PreprocessSpec());
}

TEST(PreprocessSpecTest, ToStringNamesTheRecipe) {
  const std::string text = NonDefaultSpec().ToString();
  EXPECT_NE(text.find("resize 640x384 pillow letterbox"), std::string::npos) << text;
  EXPECT_NE(text.find("nhwc i8"), std::string::npos) << text;
  EXPECT_NE(text.find("zero point -14"), std::string::npos) << text;
}

struct BadCase {
  const char* text;
  bool json;
  const char* expect;  // substring of the error
};

TEST(PreprocessSpecTest, MalformedFieldsAreNamed) {
  const BadCase cases[] = {
      {"resize: {width: 224, height: 224, mode: cubic}", false,
       "resize.mode: unknown value 'cubic' (expected nearest, bilinear, area or pillow)"},
      {"resize: {width: 22.5, height: 224}", false, "resize.width: expected an integer"},
      {"resize: {width: 224}", false, "resize: width and height must both be set"},
      {"normalize: {std: [1, 0, 1]}", false, "normalize.std[1]: must be finite and non-zero"},
      {"normalize: {mean: [1, 2]}", false, "normalize.mean: expected a number or a list of 3"},
      {"normalize: {mean: [1, x, 2]}", false, "normalize.mean[1]: expected a number"},
      {"layout: nchwc", false, "layout: unknown value 'nchwc'"},
      {"dtype: u8\nquant: {scale: 0}", false, "quant.scale: must be positive"},
      {"dtype: i8\nquant: {zero_point: 200}", false, "quant.zero_point: 200 is outside"},
      {"resize: {widht: 3}", false, "resize.widht: unknown key"},
      {"colour: rgb", false, "colour: unknown key"},
      {"letterbox: {enabled: yes please}", false, "letterbox.enabled: expected true or false"},
      {"letterbox: true", false, "letterbox: needs an output size"},
      {"resize: [1, 2]", false, "resize: expected a mapping"},
      {"resize: {width: 1, height: [}", false, "YAML line 1"},
      {R"({"order": "rgbx"})", true, "order: unknown value 'rgbx'"},
      {R"({"crop": {"x": -1, "y": 0, "width": 4, "height": 4}})", true, "crop: x, y, width"},
      {R"({"yuv": {"matrix": "bt2020"}})", true, "yuv.matrix: unknown value 'bt2020'"},
      {R"({"resize": {"width": 3,)", true, "JSON:"},
  };
  for (const BadCase& c : cases) {
    auto s = c.json ? PreprocessSpec::FromJson(c.text) : PreprocessSpec::FromYaml(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.status().message().find(c.expect), std::string::npos)
        << c.text << "\n got: " << s.status().message();
  }
}

TEST(PreprocessSpecTest, FromFileNamesThePath) {
  auto missing = PreprocessSpec::FromFile("/nonexistent/spec.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/spec.yaml"), std::string::npos);
}

}  // namespace
}  // namespace edgerun::vision
