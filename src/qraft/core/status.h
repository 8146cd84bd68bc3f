// Status and Result<T>: how every Qraft library function reports failure.
//
// Library code never throws for expected failures (bad input, missing files, I/O errors); it
// returns a Status or a Result<T>, both [[nodiscard]]. Exceptions, exit codes and HTTP codes exist
// only at the edges (CLI, service, Python bindings), which map StatusCode to their own vocabulary.
//
// Messages name *where* and *what*: "prices.csv:17: field 'close': expected a number, got 'n/a'".
// Layers add context on the way up with WithContext(), never by re-wording the inner message.
//
// Thread-safety: Status and Result are values; distinct objects may be used from distinct threads.
#pragma once

#include <cassert>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace qraft {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,  // a caller-supplied option or argument is wrong
  kNotFound,         // a named file, snapshot, symbol or field does not exist
  kAlreadyExists,
  kDataError,  // input data is malformed or fails a check (file, line and field in message)
  kIOError,    // the operating system failed us (disk full, permission, ...)
  kInternal,   // a bug in Qraft
  kCancelled,
  kUnimplemented,
};

/// Short stable name of a code, e.g. "DataError".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  /// The OK status. Costs one null pointer.
  Status() noexcept = default;
  Status(StatusCode code, std::string message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status DataError(std::string msg) { return {StatusCode::kDataError, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status Unimplemented(std::string msg) {
    return {StatusCode::kUnimplemented, std::move(msg)};
  }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return ok() ? StatusCode::kOk : state_->code; }
  /// Empty for OK.
  std::string_view message() const { return ok() ? std::string_view() : state_->message; }

  /// "context: message" with the same code; OK stays OK.
  Status WithContext(std::string_view context) const;

  /// "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  bool operator==(const Status& other) const {
    return code() == other.code() && message() == other.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

/// A value or the Status that explains why there is none. Never holds an OK Status.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> is meaningless");

 public:
  // Implicit on purpose, so functions can `return value;` or `return Status::...;`.
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}        // NOLINT
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    if (std::get<0>(v_).ok()) {
      v_ = Status::Internal("Result constructed from an OK Status without a value");
    }
  }

  bool ok() const { return v_.index() == 1; }
  /// OK when a value is held.
  Status status() const& { return ok() ? Status() : std::get<0>(v_); }
  Status status() && { return ok() ? Status() : std::get<0>(std::move(v_)); }

  /// REQUIRES: ok(). Calling on an error is a programmer error and aborts.
  T& value() & { return Checked(), std::get<1>(v_); }
  const T& value() const& { return Checked(), std::get<1>(v_); }
  T&& value() && { return Checked(), std::get<1>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T ValueOr(T alternative) && { return ok() ? std::get<1>(std::move(v_)) : std::move(alternative); }

 private:
  void Checked() const {
    if (!ok()) [[unlikely]] {
      AbortOnError(std::get<0>(v_));
    }
  }
  [[noreturn]] static void AbortOnError(const Status& status);

  std::variant<Status, T> v_;
};

namespace internal {
[[noreturn]] void AbortWithStatus(const Status& status, const char* what);
inline Status ToStatus(const Status& s) {
  return s;
}
inline Status ToStatus(Status&& s) {
  return std::move(s);
}
template <class T>
Status ToStatus(const Result<T>& r) {
  return r.status();
}
template <class T>
Status ToStatus(Result<T>&& r) {
  return std::move(r).status();
}
}  // namespace internal

template <class T>
void Result<T>::AbortOnError(const Status& status) {
  internal::AbortWithStatus(status, "Result::value() called on an error");
}

}  // namespace qraft

#define QRAFT_CONCAT_IMPL(a, b) a##b
#define QRAFT_CONCAT(a, b) QRAFT_CONCAT_IMPL(a, b)

/// Returns from the enclosing function if `expr` (a Status or Result) is an error.
#define QRAFT_RETURN_NOT_OK(expr) QRAFT_RETURN_NOT_OK_IMPL(QRAFT_CONCAT(_qraft_st_, __LINE__), expr)
#define QRAFT_RETURN_NOT_OK_IMPL(st, expr)               \
  do {                                                   \
    auto&& st = (expr);                                  \
    if (!st.ok()) [[unlikely]] {                         \
      return ::qraft::internal::ToStatus(std::move(st)); \
    }                                                    \
  } while (false)

/// `QRAFT_ASSIGN_OR_RETURN(auto x, F());` declares/assigns x from a Result or returns its error.
/// Expands to several statements: do not use as the body of an unbraced if/for.
#define QRAFT_ASSIGN_OR_RETURN(lhs, rexpr) \
  QRAFT_ASSIGN_OR_RETURN_IMPL(QRAFT_CONCAT(_qraft_result_, __LINE__), lhs, rexpr)
#define QRAFT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.ok()) [[unlikely]] {                      \
    return std::move(tmp).status();                  \
  }                                                  \
  lhs = std::move(tmp).value()

/// Programmer-error check (never for user input): aborts with a message when false, in all builds.
#define QRAFT_CHECK(cond)                                                                      \
  do {                                                                                         \
    if (!(cond)) [[unlikely]] {                                                                \
      ::qraft::internal::AbortWithStatus(::qraft::Status::Internal(#cond), __FILE__ ":check"); \
    }                                                                                          \
  } while (false)
