// Loads the framework catalog a node checks references against: the built-in frameworks
// plus those published by the lead city of the coalition they name.
#pragma once

#include "node/local/entitlements.hpp"
#include "protocol/framework_catalog.hpp"
#include "storage/record_store.hpp"

namespace agora {

// A framework record counts only when its origin leads the coalition it names (by the
// coalition records held here); public_only leaves out frameworks not shared publicly.
FrameworkCatalog load_frameworks(const storage::StoreReader& reader, const Entitlements& entitlements,
                                 bool public_only = false);
FrameworkCatalog load_frameworks(storage::RecordStore& store, bool public_only = false);

}  // namespace agora
