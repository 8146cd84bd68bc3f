// From the time written in a file to the timestamp a bar is labelled with.
//
// Daily (and longer) bars are labelled by date (midnight UTC, core/time.h):
//   * text with a date only            -> that date;
//   * text with a time of day          -> the date as written (the time of day is ignored, so
//                                         "2014-01-02 00:00:00+00:00" and "2014-01-02 16:00-05:00"
//                                         are both 2014-01-02);
//   * an epoch instant                 -> its UTC date when it is exactly midnight UTC (dates
//                                         exported as epochs), else its date in the market's
//                                         time zone.
// Intraday bars are labelled by their UTC instant: naive wall-clock times are read in the market's
// time zone, times with an offset and epochs are already instants.
#pragma once

#include "qraft/core/status.h"
#include "qraft/core/time.h"

namespace qraft::data {

class TimeLabeler {
 public:
  TimeLabeler() = default;
  TimeLabeler(bool daily, TimeZone tz) : daily_(daily), tz_(std::move(tz)) {}

  bool daily() const { return daily_; }
  const TimeZone& tz() const { return tz_; }

  /// Label for parsed text (ParseIsoDateTime / TimeFormat). Errors only for wall-clock times
  /// that do not exist in the time zone.
  Result<Timestamp> FromText(const ParsedTime& t) const;
  /// Label for an instant (epoch, or a zone-aware timestamp column).
  Timestamp FromInstant(Timestamp utc) const;
  /// Label for a naive wall-clock time (a timestamp column without a zone).
  Result<Timestamp> FromWallClock(Timestamp wall) const;

 private:
  bool daily_ = true;
  TimeZone tz_;
};

}  // namespace qraft::data
