// Placeholder until the QLinear op definitions land: an empty family.
#include "ops/op_families.h"

namespace edgerun {

std::span<const OpDef> QLinearOpDefs() { return {}; }

}  // namespace edgerun
