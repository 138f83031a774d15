// Errors as values for the whole engine.
//
// Every fallible engine call returns a Status (no value) or an Expected<T> (a value or a Status).
// Messages are one line and name the file, node, op and value involved, e.g.
//   "model.onnx: node 'conv1' (Conv): weight 'w' has rank 3, expected 4".
// Usage:
//   Expected<Model> m = Model::Load(path);
//   if (!m) return m.status();
//   RETURN_IF_ERROR(session->Run());
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace edgerun {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // caller passed something wrong (bad shape, missing input, bad option)
  kInvalidModel,       // the model file is corrupt or contradicts itself
  kUnsupported,        // valid, but edgerun cannot run it (unknown op, dtype, dynamic shape)
  kNotFound,           // a named file, input or value does not exist
  kResourceExhausted,  // would exceed a memory limit
  kIoError,            // reading or writing a file failed
  kInternal,           // a bug in edgerun
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<prefix>: <message>"; used to add file and node context.
  Status WithPrefix(std::string_view prefix) const;
  // "invalid model: <message>" style, for logs.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) {
  return Status(StatusCode::kInvalidArgument, std::move(msg));
}
inline Status InvalidModel(std::string msg) { return Status(StatusCode::kInvalidModel, std::move(msg)); }
inline Status Unsupported(std::string msg) { return Status(StatusCode::kUnsupported, std::move(msg)); }
inline Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
inline Status ResourceExhausted(std::string msg) {
  return Status(StatusCode::kResourceExhausted, std::move(msg));
}
inline Status IoError(std::string msg) { return Status(StatusCode::kIoError, std::move(msg)); }
inline Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }

// A value of type T, or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : data_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(data_);
  }
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace edgerun

#define EDGERUN_CONCAT_INNER(a, b) a##b
#define EDGERUN_CONCAT(a, b) EDGERUN_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) is not ok.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::edgerun::Status edgerun_status_ = (expr);          \
    if (!edgerun_status_.ok()) return edgerun_status_;   \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` declares x from an Expected, or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(EDGERUN_CONCAT(edgerun_expected_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
