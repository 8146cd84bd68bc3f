// Durable and atomic file writes.
//
// Files Qraft publishes (snapshot metadata, refs, result CSVs, reports, cached features) must never
// be seen half-written. The helpers here implement the POSIX recipe once:
//   1. write the bytes to a temporary sibling in the destination's directory;
//   2. fsync that file, so its bytes are on disk before its name is;
//   3. rename(2) it over the destination, which is atomic within one file system, so a reader
//      sees the old file or the new one, never a partial one;
//   4. fsync the directory when the rename itself must survive a crash. Callers that publish
//      several files into one directory do this once, after the last file.
//
// Errors are IOError "<path>: <what>: <strerror(errno)>", e.g.
// "out/metrics.csv: cannot create: No such file or directory".
//
// Thread-safety: every function may be called from any thread. Concurrent writers of one
// destination each publish a complete file; the last rename wins.
#pragma once

#include <filesystem>
#include <string_view>

#include "qraft/core/status.h"

namespace qraft {

/// IOError "<path>: <what>: <strerror(errno)>". Call right after the failing system call, before
/// anything else can change errno.
Status ErrnoError(std::string_view what, const std::filesystem::path& path);

/// fsyncs a file, or a directory when `directory` is true (which makes the creations, renames
/// and removals inside it durable). Errors name `path`.
Status FsyncPath(const std::filesystem::path& path, bool directory);

/// Creates or truncates `path`, writes all of `data` and fsyncs it. Not atomic: while this runs,
/// or after it fails, `path` may hold a partial file. Use it for files nobody reads yet (inside a
/// directory that is published later) or for temporaries; otherwise use WriteFileAtomically.
/// Errors name `path`.
Status WriteFileDurably(const std::filesystem::path& path, std::string_view data);

/// A fresh name for a temporary file next to `path`: "<dir>/.<name>.tmp-<pid>-<counter>".
/// Hidden, in the same directory (so a rename onto `path` stays within one file system) and
/// unique across threads and processes. The file is not created.
std::filesystem::path TempSibling(const std::filesystem::path& path);

/// How durable a publication is. The defaults make the file's bytes durable but not the rename.
struct PublishOptions {
  /// fsync the temporary file before the rename. Turn off only when it is already fsync'ed or
  /// for files that are cheap to recreate (caches).
  bool sync_file = true;
  /// fsync the destination's directory after the rename. Off by default: callers publishing
  /// several files into one directory fsync it once at the end (FsyncPath(dir, true)).
  bool sync_directory = false;
};

/// Publishes the finished temporary file `tmp` (normally from TempSibling(dest)) as `dest`:
/// fsync, rename, fsync the directory, as `options` ask. On failure `tmp` is removed and `dest`
/// is left as it was (unless only the directory fsync failed: then `dest` is already the new
/// file). The rename error names `dest`; fsync errors name the file or directory synced.
Status PublishFile(const std::filesystem::path& tmp, const std::filesystem::path& dest,
                   const PublishOptions& options = {});

/// Replaces `dest` with `data` atomically: TempSibling, write, fsync, rename. Readers see the old
/// file or the new one, never a partial one; on failure `dest` is untouched and no temporary file
/// is left behind. Errors name `dest`. The parent directory must exist.
Status WriteFileAtomically(const std::filesystem::path& dest, std::string_view data,
                           const PublishOptions& options = {});

}  // namespace qraft
