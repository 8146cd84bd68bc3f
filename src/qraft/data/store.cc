#include "qraft/data/store.h"

#include <fmt/format.h>
#include <signal.h>
#include <tbb/parallel_invoke.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "qraft/core/file_io.h"
#include "qraft/core/hash.h"
#include "qraft/data/io/arrow_io.h"

namespace qraft::data {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMeta = "snapshot_meta.json";
constexpr const char* kPanel = "panel.arrow";
constexpr const char* kBars = "bars.parquet";

Result<std::string> ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open", p.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<nlohmann::json> ReadJson(const fs::path& p) {
  QRAFT_ASSIGN_OR_RETURN(std::string text, ReadText(p));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Status::DataError(fmt::format("{}: invalid JSON: {}", p.string(), e.what()));
  }
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ValidRefName(std::string_view s) {
  return !s.empty() && s.front() != '.' && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '@';
  });
}

bool ProcessAlive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

Timestamp ParseMetaTime(const nlohmann::json& j) {
  auto t = ParseIsoDateTime(j.get<std::string>());
  return t ? t->value : kNoTimestamp;
}

class LocalStore final : public SnapshotStore {
 public:
  explicit LocalStore(fs::path root) : root_(std::move(root)) {}

  Status Init() {
    std::error_code ec;
    for (const char* d : {"snapshots", "refs", "tmp"}) {
      fs::create_directories(root_ / d, ec);
      if (ec)
        return Status::IOError(fmt::format("{}: cannot create store directory: {}",
                                           (root_ / d).string(), ec.message()));
    }
    return Status::OK();
  }

  Result<std::string> Publish(const SnapshotContent& content, Progress& progress) override {
    const std::string ref = content.market + "@" + content.freq.ToString();
    if (!ValidRefName(ref)) {
      return Status::InvalidArgument(fmt::format(
          "market name '{}': use letters, digits, '_', '-' and '.' only", content.market));
    }
    progress.Start("hash", 1);
    const SnapshotHashes hashes = ComputeHashes(content);
    progress.Advance();
    progress.Finish();
    const fs::path final_dir = root_ / "snapshots" / hashes.id;
    if (!fs::exists(final_dir / kMeta)) {
      (void)CollectGarbage();
      static std::atomic<unsigned> counter{0};
      const fs::path tmp =
          root_ / "tmp" / fmt::format("{}-{}-{}", hashes.id.substr(0, 12), ::getpid(), counter++);
      std::error_code ec;
      fs::create_directory(tmp, ec);
      if (ec)
        return Status::IOError(fmt::format("{}: cannot create: {}", tmp.string(), ec.message()));
      Status st = WriteSnapshotFiles(content, hashes, tmp, progress);
      if (st.ok()) st = FsyncPath(tmp, true);
      if (st.ok() && ::rename(tmp.c_str(), final_dir.c_str()) != 0) {
        // Someone published the same content first: theirs is identical, keep it.
        if (errno != ENOTEMPTY && errno != EEXIST) st = ErrnoError("cannot publish", final_dir);
      }
      fs::remove_all(tmp, ec);
      QRAFT_RETURN_NOT_OK(st);
      QRAFT_RETURN_NOT_OK(FsyncPath(root_ / "snapshots", true));
    }
    QRAFT_RETURN_NOT_OK(SetRef(ref, hashes.id));
    return hashes.id;
  }

  Result<std::string> Resolve(std::string_view ref) const override {
    if (ref.empty()) return Status::InvalidArgument("empty snapshot reference");
    const std::string r(ref);
    if (r.size() == 64 && IsHex(r)) {
      if (fs::exists(root_ / "snapshots" / r / kMeta)) return r;
      return Status::NotFound(fmt::format("snapshot {} is not in the store {}", r, root_.string()));
    }
    if (ValidRefName(r) && fs::exists(root_ / "refs" / r)) {
      QRAFT_ASSIGN_OR_RETURN(std::string id, ReadText(root_ / "refs" / r));
      while (!id.empty() && (id.back() == '\n' || id.back() == ' '))
        id.pop_back();
      return id;
    }
    std::vector<std::string> matches;
    std::error_code ec;
    if (r.size() >= 6 && IsHex(r)) {
      for (const auto& e : fs::directory_iterator(root_ / "snapshots", ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(r, 0) == 0 && fs::exists(e.path() / kMeta)) matches.push_back(name);
      }
    } else if (ValidRefName(r)) {
      for (const auto& e : fs::directory_iterator(root_ / "refs", ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(r + "@", 0) == 0) matches.push_back(name);
      }
      if (matches.size() == 1) return Resolve(matches[0]);
    }
    if (matches.size() == 1) return matches[0];
    if (matches.size() > 1) {
      std::sort(matches.begin(), matches.end());
      return Status::InvalidArgument(
          fmt::format("'{}' is ambiguous: {}", r, fmt::join(matches, ", ")));
    }
    return Status::NotFound(
        fmt::format("no snapshot '{}' in the store {} (give an id, an id prefix, or market@freq; "
                    "see `qraft data list`)",
                    r, root_.string()));
  }

  Result<Snapshot> Open(std::string_view ref) const override {
    QRAFT_ASSIGN_OR_RETURN(const std::string id, Resolve(ref));
    const fs::path dir = root_ / "snapshots" / id;
    QRAFT_ASSIGN_OR_RETURN(nlohmann::json meta, ReadJson(dir / kMeta));
    QRAFT_ASSIGN_OR_RETURN(Panel panel, io::ReadPanelArrow(dir / kPanel));
    std::vector<InstrumentSpan> spans;
    try {
      for (const auto& row : meta.at("instruments")) {
        spans.push_back(
            {row.at(0).get<std::string>(), ParseMetaTime(row.at(1)), ParseMetaTime(row.at(2))});
      }
    } catch (const nlohmann::json::exception& e) {
      return Status::DataError(
          fmt::format("{}: bad instruments list: {}", (dir / kMeta).string(), e.what()));
    }
    return Snapshot(id, dir, std::move(meta), std::move(panel), std::move(spans));
  }

  Result<std::vector<SnapshotSummary>> List() const override {
    std::vector<SnapshotSummary> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_ / "snapshots", ec)) {
      if (!fs::exists(e.path() / kMeta)) continue;
      QRAFT_ASSIGN_OR_RETURN(nlohmann::json m, ReadJson(e.path() / kMeta));
      SnapshotSummary s;
      s.id = e.path().filename().string();
      s.market = m.value("market", "");
      s.freq = m.value("freq", "");
      s.symbols = m.value("symbols", std::size_t{0});
      s.bars = m.value("bars", std::size_t{0});
      s.start = m.value("start", "");
      s.end = m.value("end", "");
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const SnapshotSummary& a, const SnapshotSummary& b) {
      return std::tie(a.market, a.freq, a.id) < std::tie(b.market, b.freq, b.id);
    });
    return out;
  }

  Result<std::size_t> CollectGarbage() override {
    std::size_t removed = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_ / "tmp", ec)) {
      // Names are <id12>-<pid>-<n>; remove those whose writer is gone.
      const std::string name = e.path().filename().string();
      const auto a = name.find('-'), b = name.rfind('-');
      const long pid =
          (a != std::string::npos && b > a) ? std::atol(name.substr(a + 1, b - a - 1).c_str()) : 0;
      if (pid == ::getpid() || ProcessAlive(pid)) continue;
      std::error_code rm;
      fs::remove_all(e.path(), rm);
      if (!rm) ++removed;
    }
    return removed;
  }

  Status Verify(std::string_view ref) const override {
    QRAFT_ASSIGN_OR_RETURN(Snapshot snap, Open(ref));
    const nlohmann::json& m = snap.meta();
    for (const char* f : {kPanel, kBars}) {
      QRAFT_ASSIGN_OR_RETURN(std::string h, Xxh3_128FileHex(snap.dir() / f));
      const std::string want = m["files"][f].value("xxh3_128", "");
      if (h != want) {
        return Status::DataError(fmt::format(
            "{}: file hash {} does not match the metadata ({}); the snapshot is damaged",
            (snap.dir() / f).string(), h, want));
      }
    }
    SnapshotContent c;
    c.market = snap.market();
    c.freq = snap.freq();
    c.timezone = m.value("timezone", "UTC");
    c.panel = snap.panel();
    c.instruments = snap.instruments();
    const SnapshotHashes h = ComputeHashes(c);
    if (h.id != snap.id()) {
      return Status::DataError(fmt::format(
          "snapshot {}: content hashes to {}; the snapshot is damaged", snap.id(), h.id));
    }
    return Status::OK();
  }

 private:
  Status WriteSnapshotFiles(const SnapshotContent& c, const SnapshotHashes& h, const fs::path& dir,
                            Progress& progress) {
    const io::KeyValues kv = {{"qraft.snapshot_id", h.id},
                              {"qraft.market", c.market},
                              {"qraft.freq", c.freq.ToString()},
                              {"qraft.timezone", c.timezone}};
    // Each data file is written, fsync'ed and hashed by its own task; the metadata is built
    // meanwhile. The metadata file comes last: a directory with snapshot_meta.json is complete.
    struct Written {
      Status status;
      std::string xxh3;
    };
    auto write = [&](const char* name, auto&& writer) {
      Written w;
      w.status = writer(dir / name);
      if (w.status.ok()) w.status = FsyncPath(dir / name, false);
      if (w.status.ok()) {
        auto x = Xxh3_128FileHex(dir / name);
        w.status = x.status();
        if (x.ok()) w.xxh3 = *x;
      }
      progress.Advance();
      return w;
    };
    progress.Start("write", 2);
    Written panel, bars;
    nlohmann::json meta;
    tbb::parallel_invoke(
        [&] {
          panel =
              write(kPanel, [&](const fs::path& p) { return io::WritePanelArrow(c.panel, p, kv); });
        },
        [&] {
          bars = write(kBars, [&](const fs::path& p) {
            return io::WriteBarsParquet(c.panel, !c.freq.intraday(), p, kv);
          });
        },
        [&] { meta = BuildMeta(c, h); });
    progress.Finish();
    QRAFT_RETURN_NOT_OK(panel.status);
    QRAFT_RETURN_NOT_OK(bars.status);
    meta["files"][kPanel] = {{"bytes", fs::file_size(dir / kPanel)}, {"xxh3_128", panel.xxh3}};
    meta["files"][kBars] = {{"bytes", fs::file_size(dir / kBars)}, {"xxh3_128", bars.xxh3}};
    return WriteFileDurably(dir / kMeta, meta.dump(1) + "\n");
  }

  Status SetRef(const std::string& ref, const std::string& id) {
    std::lock_guard<std::mutex> lock(ref_mu_);
    const fs::path tmp = root_ / "tmp" / fmt::format("ref-{}-{}", ::getpid(), ref);
    QRAFT_RETURN_NOT_OK(WriteFileDurably(tmp, id + "\n"));
    if (::rename(tmp.c_str(), (root_ / "refs" / ref).c_str()) != 0)
      return ErrnoError("cannot update ref", root_ / "refs" / ref);
    return FsyncPath(root_ / "refs", true);
  }

  fs::path root_;
  std::mutex ref_mu_;
};

}  // namespace

Result<std::unique_ptr<SnapshotStore>> OpenLocalStore(const fs::path& root) {
  auto store = std::make_unique<LocalStore>(root);
  QRAFT_RETURN_NOT_OK(store->Init());
  return std::unique_ptr<SnapshotStore>(std::move(store));
}

fs::path DefaultStoreRoot() {
  if (const char* home = std::getenv("QRAFT_HOME"); home != nullptr && *home != '\0') return home;
  const char* user_home = std::getenv("HOME");
  return fs::path(user_home ? user_home : ".") / ".qraft";
}

}  // namespace qraft::data
