#include "qraft/core/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace qraft {
namespace fs = std::filesystem;
namespace {

// Creates or truncates `file` and writes all of `data`, retrying short and interrupted writes;
// fsyncs it when `sync`. Errors name `name`, the file the caller asked for (which differs from
// `file` when writing a temporary).
Status WriteAll(const fs::path& file, const fs::path& name, std::string_view data, bool sync) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", name);
  Status st;
  std::size_t done = 0;
  while (st.ok() && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
    } else if (errno != EINTR) {
      st = ErrnoError("write failed", name);
    }
  }
  if (st.ok() && sync && ::fsync(fd) != 0) st = ErrnoError("fsync failed", name);
  // close() reports deferred write errors (NFS, quotas); it matters when we did not fsync.
  if (::close(fd) != 0 && st.ok()) st = ErrnoError("write failed", name);
  return st;
}

}  // namespace

Status ErrnoError(std::string_view what, const fs::path& path) {
  return Status::IOError(fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
}

Status FsyncPath(const fs::path& path, bool directory) {
  const int fd =
      ::open(path.c_str(), (directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open for fsync", path);
  Status st;
  if (::fsync(fd) != 0) st = ErrnoError("fsync failed", path);
  ::close(fd);
  return st;
}

Status WriteFileDurably(const fs::path& path, std::string_view data) {
  return WriteAll(path, path, data, /*sync=*/true);
}

fs::path TempSibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() /
         fmt::format(".{}.tmp-{}-{}", path.filename().string(), ::getpid(), counter++);
}

Status PublishFile(const fs::path& tmp, const fs::path& dest, const PublishOptions& options) {
  Status st;
  if (options.sync_file) st = FsyncPath(tmp, false);
  if (st.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) {
    st = ErrnoError("cannot rename into place", dest);
  }
  if (!st.ok()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return st;
  }
  if (options.sync_directory) {
    const fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
    return FsyncPath(dir, true);
  }
  return Status::OK();
}

Status WriteFileAtomically(const fs::path& dest, std::string_view data,
                           const PublishOptions& options) {
  const fs::path tmp = TempSibling(dest);
  Status st = WriteAll(tmp, dest, data, options.sync_file);
  if (!st.ok()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return st;
  }
  PublishOptions publish = options;
  publish.sync_file = false;  // WriteAll fsync'ed it through its own descriptor
  return PublishFile(tmp, dest, publish);
}

}  // namespace qraft
