#include "qraft/data/synth.h"

namespace qraft::data {
// PLACEHOLDER: implemented by the synth task; returns Unimplemented until then.
Result<SnapshotContent> Synthesize(const SynthOptions&) { return Status::Unimplemented("data synth"); }
}  // namespace qraft::data
