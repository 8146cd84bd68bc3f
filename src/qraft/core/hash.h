// Content hashes.
//
// SHA-256 (OpenSSL) identifies content for the record: snapshot ids, field hashes, source-file
// hashes. XXH3 (xxHash) is the fast non-cryptographic hash for in-memory keys and integrity checks
// of files we wrote ourselves. Both are stable across machines and endianness of the input bytes
// as given (Qraft hashes little-endian canonical encodings).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "qraft/core/status.h"

namespace qraft {

using Sha256Digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256. Not thread-safe; one object per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(const void* data, std::size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  /// Length-prefixed string, so that ("ab","c") and ("a","bc") hash differently.
  void UpdateString(std::string_view s);
  void UpdateU64(std::uint64_t v);
  void UpdateI64(std::int64_t v) { UpdateU64(static_cast<std::uint64_t>(v)); }
  /// Ends the stream; the object may not be updated afterwards.
  Sha256Digest Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string ToHex(const std::uint8_t* data, std::size_t size);
inline std::string ToHex(const Sha256Digest& d) {
  return ToHex(d.data(), d.size());
}

std::string Sha256Hex(std::string_view data);
/// Streams the file; errors name it.
Result<std::string> Sha256FileHex(const std::filesystem::path& path);

/// XXH3 64-bit.
std::uint64_t Xxh3(const void* data, std::size_t size, std::uint64_t seed = 0);
/// XXH3 128-bit as 32 hex digits.
std::string Xxh3_128Hex(const void* data, std::size_t size);
/// Streams the file; errors name it.
Result<std::string> Xxh3_128FileHex(const std::filesystem::path& path);

}  // namespace qraft
