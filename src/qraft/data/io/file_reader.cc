#include "qraft/data/io/file_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "qraft/core/hash.h"

namespace qraft::data::io {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<std::string> ReadRaw(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::NotFound(
        fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  std::string data;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (true) {
    if (done == data.size())
      data.resize(std::max<std::size_t>(data.size() * 2, 1 << 16));  // grew, or a pipe
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::IOError(fmt::format("{}: read error: {}", path.string(), std::strerror(err)));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

Result<std::string> Gunzip(const std::string& in, const std::filesystem::path& path) {
  z_stream zs{};
  // 15 + 32: zlib or gzip header, detected automatically.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Internal("zlib init failed");
  std::string out;
  out.reserve(in.size() * 4);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  int rc = Z_OK;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are legal; continue with the next one.
      if (zs.avail_in == 0) break;
      inflateReset(&zs);
      continue;
    }
    if (rc != Z_OK) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return Status::DataError(fmt::format("{}: not a valid gzip stream ({}), or truncated",
                                         path.string(), zs.msg ? zs.msg : "unexpected end"));
  }
  return out;
}

Result<std::string> Unzstd(const std::string& in, const std::filesystem::path& path) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char buf[1 << 16];
  std::size_t rc = 1;
  while (input.pos < input.size) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    rc = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(rc)) {
      return Status::DataError(
          fmt::format("{}: not a valid zstd stream: {}", path.string(), ZSTD_getErrorName(rc)));
    }
    out.append(buf, output.pos);
  }
  if (rc != 0) return Status::DataError(fmt::format("{}: zstd stream is truncated", path.string()));
  return out;
}

Result<std::string> Unzip(const std::filesystem::path& path) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (z == nullptr)
    return Status::DataError(fmt::format("{}: not a readable zip archive", path.string()));
  std::unique_ptr<zip_t, decltype(&zip_discard)> guard(z, zip_discard);
  const zip_int64_t n = zip_get_num_entries(z, 0);
  if (n != 1) {
    return Status::DataError(fmt::format(
        "{}: a zip archive must hold exactly one data file, this one has {}; unpack it first",
        path.string(), n));
  }
  zip_stat_t st;
  if (zip_stat_index(z, 0, 0, &st) != 0)
    return Status::DataError(fmt::format("{}: bad zip entry", path.string()));
  zip_file_t* f = zip_fopen_index(z, 0, 0);
  if (f == nullptr)
    return Status::DataError(fmt::format("{}: cannot open zip entry", path.string()));
  std::string out(static_cast<std::size_t>(st.size), '\0');
  const zip_int64_t got = zip_fread(f, out.data(), st.size);
  zip_fclose(f);
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) {
    return Status::DataError(
        fmt::format("{}: zip entry '{}' is truncated", path.string(), st.name));
  }
  return out;
}

}  // namespace

std::string DataExtension(const std::filesystem::path& path) {
  std::filesystem::path p = path.filename();
  std::string ext = Lower(p.extension().string());
  if (ext == ".gz" || ext == ".zst" || ext == ".zip") ext = Lower(p.stem().extension().string());
  return ext;
}

std::string BareStem(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  static const char* kExts[] = {".gz",   ".zst",     ".zip", ".csv",     ".txt",   ".tsv",
                                ".json", ".parquet", ".pq",  ".feather", ".arrow", ".ipc"};
  for (bool again = true; again;) {
    again = false;
    for (const char* e : kExts) {
      const std::size_t n = std::strlen(e);
      if (name.size() > n && Lower(name.substr(name.size() - n)) == e) {
        name.resize(name.size() - n);
        again = true;
      }
    }
  }
  return name;
}

Result<std::string> ReadDecompressed(const std::filesystem::path& path, std::string* file_sha256) {
  const std::string ext = Lower(path.extension().string());
  std::string data;
  if (ext == ".zip") {
    QRAFT_ASSIGN_OR_RETURN(data, Unzip(path));
    if (file_sha256 != nullptr) {
      QRAFT_ASSIGN_OR_RETURN(*file_sha256, Sha256FileHex(path));
    }
  } else {
    QRAFT_ASSIGN_OR_RETURN(std::string raw, ReadRaw(path));
    if (file_sha256 != nullptr) *file_sha256 = Sha256Hex(raw);
    if (ext == ".gz") {
      QRAFT_ASSIGN_OR_RETURN(data, Gunzip(raw, path));
    } else if (ext == ".zst") {
      QRAFT_ASSIGN_OR_RETURN(data, Unzstd(raw, path));
    } else {
      data = std::move(raw);
    }
  }
  auto starts = [&](std::string_view bom) { return data.compare(0, bom.size(), bom) == 0; };
  if (starts("\xFF\xFE") || starts("\xFE\xFF") || starts(std::string_view("\x00\x00\xFE\xFF", 4))) {
    return Status::DataError(fmt::format(
        "{}: file is UTF-16/UTF-32 encoded (byte-order mark); expected UTF-8 or ASCII text — "
        "convert it, e.g. iconv -f UTF-16 -t UTF-8",
        path.string()));
  }
  if (starts("\xEF\xBB\xBF")) data.erase(0, 3);
  return data;
}

}  // namespace qraft::data::io
