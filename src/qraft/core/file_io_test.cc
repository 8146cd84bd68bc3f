#include "qraft/core/file_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace qraft {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed when the object dies. (core cannot use
// data/testing.h.)
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("qraft_file_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(std::string_view name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The names in `dir`, so tests can check that nothing but the expected files is there.
std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.insert(e.path().filename().string());
  return names;
}

TEST(FileIoTest, WriteFileAtomicallyRoundTripsBinaryContent) {
  TempDir dir;
  std::string data = "line one\nline two\n";
  data.push_back('\0');
  data += std::string(1 << 20, 'x');  // larger than one write() on some systems
  ASSERT_TRUE(WriteFileAtomically(dir / "a.bin", data).ok());
  EXPECT_EQ(ReadAll(dir / "a.bin"), data);
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"a.bin"});
}

TEST(FileIoTest, WriteFileAtomicallyReplacesAnExistingFile) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "f.txt", "the old, longer content\n").ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "f.txt", "new\n").ok());
  EXPECT_EQ(ReadAll(dir / "f.txt"), "new\n");
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"f.txt"});
}

TEST(FileIoTest, WriteFileAtomicallyWritesEmptyFiles) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "empty", "").ok());
  EXPECT_TRUE(fs::exists(dir / "empty"));
  EXPECT_EQ(fs::file_size(dir / "empty"), 0u);
  ASSERT_TRUE(WriteFileAtomically(dir / "empty", "x").ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "empty", "").ok());
  EXPECT_EQ(fs::file_size(dir / "empty"), 0u);
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"empty"});
}

TEST(FileIoTest, WriteFileAtomicallyWithDirectorySyncAndWithoutFileSync) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "a", "1", {.sync_directory = true}).ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "b", "2", {.sync_file = false}).ok());
  EXPECT_EQ(ReadAll(dir / "a"), "1");
  EXPECT_EQ(ReadAll(dir / "b"), "2");
  EXPECT_EQ(Names(dir.path()), (std::set<std::string>{"a", "b"}));
}

TEST(FileIoTest, WriteFileAtomicallyFailsNamingTheFileWhenTheDirectoryIsMissing) {
  TempDir dir;
  const fs::path dest = dir / "missing" / "f.txt";
  const Status st = WriteFileAtomically(dest, "data");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(), dest.string() + ": cannot create: No such file or directory");
  EXPECT_TRUE(Names(dir.path()).empty());
}

TEST(FileIoTest, WriteFileAtomicallyOntoADirectoryLeavesNoTemporary) {
  // The temporary is written fine; the rename fails, and must clean up after itself.
  TempDir dir;
  fs::create_directories(dir / "taken" / "child");
  const Status st = WriteFileAtomically(dir / "taken", "data");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message().find((dir / "taken").string() + ": cannot rename into place: "), 0u)
      << st.ToString();
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"taken"});
  EXPECT_TRUE(fs::is_directory(dir / "taken" / "child"));
}

TEST(FileIoTest, ConcurrentWritersEachPublishACompleteFile) {
  TempDir dir;
  const std::vector<std::string> contents = {std::string(100000, 'a'), std::string(50000, 'b'),
                                             std::string(70000, 'c'), std::string(1, 'd')};
  std::vector<std::thread> writers;
  for (const std::string& c : contents) {
    writers.emplace_back([&] {
      for (int i = 0; i < 20; ++i)
        EXPECT_TRUE(WriteFileAtomically(dir / "shared", c).ok());
    });
  }
  for (std::thread& t : writers)
    t.join();
  const std::string got = ReadAll(dir / "shared");
  EXPECT_NE(std::find(contents.begin(), contents.end(), got), contents.end());
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"shared"});
}

TEST(FileIoTest, WriteFileDurablyCreatesAndTruncates) {
  TempDir dir;
  ASSERT_TRUE(WriteFileDurably(dir / "d", "first, longer").ok());
  ASSERT_TRUE(WriteFileDurably(dir / "d", "2nd").ok());
  EXPECT_EQ(ReadAll(dir / "d"), "2nd");
  ASSERT_TRUE(WriteFileDurably(dir / "d", "").ok());
  EXPECT_EQ(fs::file_size(dir / "d"), 0u);
  const Status st = WriteFileDurably(dir / "no" / "d", "x");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(),
            (dir / "no" / "d").string() + ": cannot create: No such file or directory");
}

TEST(FileIoTest, TempSiblingIsHiddenUniqueAndInTheSameDirectory) {
  const fs::path dest = fs::path("some") / "dir" / "metrics.csv";
  const fs::path a = TempSibling(dest);
  const fs::path b = TempSibling(dest);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.parent_path(), dest.parent_path());
  const std::string prefix = ".metrics.csv.tmp-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(a.filename().string().rfind(prefix, 0), 0u) << a;
  EXPECT_EQ(TempSibling("bare.txt").parent_path(), fs::path());
}

TEST(FileIoTest, PublishFileMovesTheTemporaryIntoPlace) {
  TempDir dir;
  const fs::path dest = dir / "out.txt";
  const fs::path tmp = TempSibling(dest);
  ASSERT_TRUE(WriteFileDurably(tmp, "payload").ok());
  ASSERT_TRUE(PublishFile(tmp, dest, {.sync_file = false, .sync_directory = true}).ok());
  EXPECT_EQ(ReadAll(dest), "payload");
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"out.txt"});
}

TEST(FileIoTest, PublishFileRemovesTheTemporaryOnFailure) {
  TempDir dir;
  const fs::path dest = dir / "missing" / "out.txt";
  const fs::path tmp = dir / ".out.txt.tmp";
  ASSERT_TRUE(WriteFileDurably(tmp, "payload").ok());
  const Status st = PublishFile(tmp, dest);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(), dest.string() + ": cannot rename into place: No such file or directory");
  EXPECT_TRUE(Names(dir.path()).empty());
}

TEST(FileIoTest, PublishFileOfAMissingTemporaryFailsNamingIt) {
  TempDir dir;
  const Status st = PublishFile(dir / "nope", dir / "out");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(),
            (dir / "nope").string() + ": cannot open for fsync: No such file or directory");
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(FileIoTest, FsyncPathSyncsFilesAndDirectories) {
  TempDir dir;
  ASSERT_TRUE(WriteFileDurably(dir / "f", "x").ok());
  EXPECT_TRUE(FsyncPath(dir / "f", false).ok());
  EXPECT_TRUE(FsyncPath(dir.path(), true).ok());
  // A file is not a directory.
  const Status st = FsyncPath(dir / "f", true);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(), (dir / "f").string() + ": cannot open for fsync: Not a directory");
}

TEST(FileIoTest, ErrnoErrorNamesThePathAndTheReason) {
  errno = ENOSPC;
  const Status st = ErrnoError("write failed", "out/x.csv");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(), "out/x.csv: write failed: No space left on device");
}

}  // namespace
}  // namespace qraft
