// Result<T> and Status: errors as values at module boundaries.
//
// crypto is the bottom of the dependency graph (docs/architecture.md), so the project's vocabulary types for
// errors live here and every other module uses them. An Error carries a stable machine-readable `code` (the
// reason codes of the catalogue, or codes such as "bad_pem", "duplicate_key") and a human `message`.
// Exceptions never cross a public API of ours: code that calls a throwing library catches and converts.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace onebill {

struct Error {
  std::string code;     // stable, snake_case, safe to match on
  std::string message;  // for people; may change between versions

  friend bool operator==(const Error&, const Error&) = default;
};

inline Error make_error(std::string code, std::string message) { return Error{std::move(code), std::move(message)}; }

// Holds either a T or an Error. Accessing the wrong alternative is a programming error (asserted).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}   // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  static Status success() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace onebill
