#include "node/sync/store_views.hpp"

namespace agora::sync {

std::optional<SignedRecord> LmdbStoreView::record(const PublicKey& origin, uint64_t seq) const {
  auto view = reader_.at(origin, seq);
  if (!view) return std::nullopt;
  return view->load();
}

void LmdbStoreView::for_each_restricted_latest(const std::function<void(std::string_view)>& visit) const {
  reader_.list({}, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& e) {
    if (e.is_public || (withheld_ && withheld_->count(origin))) return true;
    auto view = reader_.at(e.local);
    if (view && !view->is_stub()) visit(view->header_bytes);
    return true;
  });
}

ChainTip LmdbChainView::tip(const PublicKey& origin) const {
  auto head = reader_.head(origin);
  return head ? ChainTip{head->seq, head->hash} : ChainTip{};
}

std::optional<HeldRecord> LmdbChainView::held(const PublicKey& origin, uint64_t seq) const {
  auto view = reader_.at(origin, seq);
  if (!view) return std::nullopt;
  return HeldRecord{view->header_bytes, view->is_stub()};
}

}  // namespace agora::sync
