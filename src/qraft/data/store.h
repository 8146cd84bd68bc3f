// The snapshot store: where published snapshots live.
//
// SnapshotStore is the interface every stage uses; LocalStore, the embedded default, keeps
// snapshots as directories on a local file system. (A ClickHouse backend can implement the same
// interface later.)
//
// LocalStore layout:
//   <root>/snapshots/<id>/snapshot_meta.json   metadata (JSON; see docs/data.md)
//   <root>/snapshots/<id>/panel.arrow          the Panel, Arrow IPC, memory-mappable
//   <root>/snapshots/<id>/bars.parquet         the same bars in long format for other tools
//   <root>/refs/<market>@<freq>                id of the latest snapshot published for a market
//   <root>/tmp/                                snapshots being written (never read)
//
// Publishing is atomic: files are written to a fresh directory under tmp/, fsync'ed, and renamed
// into snapshots/ in one step, then the directory is fsync'ed. A crash or kill at any moment
// leaves either no snapshot or a complete one; leftovers in tmp/ from dead processes are removed
// by the next publish (or `qraft data gc`). Publishing content that already exists is a no-op.
//
// Thread-safety: a store object may be used from several threads; several processes may publish
// into one store at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/data/snapshot.h"

namespace qraft::data {

/// One line of `qraft data list`.
struct SnapshotSummary {
  std::string id;
  std::string market;
  std::string freq;
  std::size_t symbols = 0;
  std::size_t bars = 0;
  std::string start, end;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;

  /// Publishes `content` and returns its id. If a snapshot with that id exists, nothing is
  /// written. Also points the market's ref (market@freq) at it.
  virtual Result<std::string> Publish(const SnapshotContent& content, Progress& progress) = 0;

  /// Resolves a reference to a snapshot id: a full id, a unique id prefix of at least 6 hex
  /// digits, "market@freq", or a market name with exactly one frequency. NotFound otherwise.
  virtual Result<std::string> Resolve(std::string_view ref) const = 0;

  /// Opens a snapshot (see Resolve for `ref`).
  virtual Result<Snapshot> Open(std::string_view ref) const = 0;

  /// Every published snapshot, sorted by market, frequency and id.
  virtual Result<std::vector<SnapshotSummary>> List() const = 0;

  /// Removes leftovers of interrupted publishes; returns how many.
  virtual Result<std::size_t> CollectGarbage() = 0;

  /// Verifies a snapshot: file hashes against the metadata, and the content hash against its id.
  virtual Status Verify(std::string_view ref) const = 0;
};

/// Opens (creating if needed) a LocalStore rooted at `root`.
Result<std::unique_ptr<SnapshotStore>> OpenLocalStore(const std::filesystem::path& root);

/// --store, else $QRAFT_HOME, else ~/.qraft.
std::filesystem::path DefaultStoreRoot();

}  // namespace qraft::data
