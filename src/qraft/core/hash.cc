#include "qraft/core/hash.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace qraft {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  QRAFT_CHECK(ctx_->md != nullptr && EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1);
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(const void* data, std::size_t size) {
  if (size > 0) QRAFT_CHECK(EVP_DigestUpdate(ctx_->md, data, size) == 1);
}

void Sha256::UpdateString(std::string_view s) {
  UpdateU64(s.size());
  Update(s);
}

void Sha256::UpdateU64(std::uint64_t v) {
  std::uint8_t b[8];
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<std::uint8_t>(v >> (8 * i));  // little-endian
  Update(b, 8);
}

Sha256Digest Sha256::Finish() {
  Sha256Digest d{};
  unsigned int len = 0;
  QRAFT_CHECK(EVP_DigestFinal_ex(ctx_->md, d.data(), &len) == 1 && len == d.size());
  return d;
}

std::string ToHex(const std::uint8_t* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 15];
  }
  return s;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return ToHex(h.Finish());
}

namespace {
template <class Sink>
Status StreamFile(const std::filesystem::path& path, Sink&& sink) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::NotFound(
        fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  std::vector<char> buf(1 << 20);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
    sink(buf.data(), n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::IOError(fmt::format("{}: read error", path.string()));
  return Status::OK();
}
}  // namespace

Result<std::string> Sha256FileHex(const std::filesystem::path& path) {
  Sha256 h;
  QRAFT_RETURN_NOT_OK(StreamFile(path, [&](const char* p, std::size_t n) { h.Update(p, n); }));
  return ToHex(h.Finish());
}

std::uint64_t Xxh3(const void* data, std::size_t size, std::uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

namespace {
std::string Hex128(XXH128_hash_t h) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  return ToHex(c.digest, sizeof(c.digest));
}
}  // namespace

std::string Xxh3_128Hex(const void* data, std::size_t size) {
  return Hex128(XXH3_128bits(data, size));
}

Result<std::string> Xxh3_128FileHex(const std::filesystem::path& path) {
  XXH3_state_t* state = XXH3_createState();
  QRAFT_CHECK(state != nullptr);
  XXH3_128bits_reset(state);
  Status st =
      StreamFile(path, [&](const char* p, std::size_t n) { XXH3_128bits_update(state, p, n); });
  const XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  QRAFT_RETURN_NOT_OK(st);
  return Hex128(h);
}

}  // namespace qraft
