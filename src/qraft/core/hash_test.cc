#include "qraft/core/hash.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace qraft {
namespace {

// Golden values: FIPS 180-2 examples for SHA-256; the xxhsum/xxh128sum reference tool for XXH3.
TEST(HashTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HashTest, Sha256IncrementalEqualsOneShot) {
  Sha256 h;
  h.Update("ab");
  h.Update("c");
  EXPECT_EQ(ToHex(h.Finish()), Sha256Hex("abc"));
}

TEST(HashTest, LengthPrefixSeparatesFields) {
  Sha256 a, b;
  a.UpdateString("ab");
  a.UpdateString("c");
  b.UpdateString("a");
  b.UpdateString("bc");
  EXPECT_NE(ToHex(a.Finish()), ToHex(b.Finish()));
}

TEST(HashTest, Xxh3KnownVectors) {
  EXPECT_EQ(Xxh3("abc", 3), 0x78af5f94892f3950ULL);
  EXPECT_EQ(Xxh3_128Hex("", 0), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(Xxh3_128Hex("abc", 3), "06b05ab6733a618578af5f94892f3950");
}

TEST(HashTest, FileHashesMatchInMemory) {
  const auto path = std::filesystem::temp_directory_path() / "qraft_hash_test.bin";
  std::string data(3 << 20, '\0');  // larger than the 1 MiB read buffer
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 31 + 7);
  {
    std::ofstream out(path, std::ios::binary);
    out << data;
  }
  EXPECT_EQ(*Sha256FileHex(path), Sha256Hex(data));
  EXPECT_EQ(*Xxh3_128FileHex(path), Xxh3_128Hex(data.data(), data.size()));
  std::filesystem::remove(path);
  EXPECT_EQ(Sha256FileHex(path).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace qraft
