#include "qraft/data/time_label.h"

namespace qraft::data {

Result<Timestamp> TimeLabeler::FromText(const ParsedTime& t) const {
  if (daily_) {
    // The date as written: undo the offset the parser applied.
    return FloorToDay(t.value + t.offset);
  }
  if (t.utc) return t.value;
  return tz_.LocalToUtc(t.value);
}

Timestamp TimeLabeler::FromInstant(Timestamp utc) const {
  if (!daily_) return utc;
  if (utc == FloorToDay(utc)) return utc;
  return FloorToDay(tz_.UtcToLocal(utc));
}

Result<Timestamp> TimeLabeler::FromWallClock(Timestamp wall) const {
  if (daily_) return FloorToDay(wall);
  return tz_.LocalToUtc(wall);
}

}  // namespace qraft::data
