#include "node/search/search_readers.hpp"

#include <spdlog/spdlog.h>

namespace agora {

namespace {
// Xapian opens a database's tables on first use: one query touching them all (terms,
// values, document data) at open keeps a node's open files steady afterwards.
std::unique_ptr<SearchIndex> open_warm(DataDir& dir) {
  auto index = SearchIndex::open_readonly(dir);
  if (index) {
    try {
      SearchQuery q;
      q.limit = 1;
      q.facets = true;
      index->search(q);
    } catch (const std::exception&) {  // an unreadable index shows at its first real query
    }
  }
  return index;
}
}  // namespace

SearchReaders::SearchReaders(DataDir& dir, unsigned readers) : dir_(dir), slots_(std::max(1u, readers)) {
  for (size_t i = slots_.size(); i > 0; --i) free_.push_back(i - 1);
}

SearchReaders::Lease::~Lease() {
  if (owner_) owner_->give_back(slot_);
}

const SearchIndex* SearchReaders::Lease::get() const { return owner_ ? owner_->slots_[slot_].index.get() : nullptr; }

SearchReaders::Lease SearchReaders::acquire() {
  size_t slot;
  {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [&] { return !free_.empty(); });
    slot = free_.back();
    free_.pop_back();
    // All readers open together: a node's open files do not grow with its first busy moment.
    if (!slots_[slot].index) {
      try {
        for (size_t i : free_)
          if (!slots_[i].index) {
            slots_[i].index = open_warm(dir_);
            slots_[i].generation = generation_.load(std::memory_order_acquire);
          }
      } catch (const std::exception&) {  // each opens on its own loan instead
      }
    }
  }
  Lease lease(this, slot);  // gives the slot back however this ends
  Slot& s = slots_[slot];
  uint64_t now = generation_.load(std::memory_order_acquire);
  if (s.generation != now || !s.index) {
    try {
      if (s.index)
        s.index->reopen();
      else
        s.index = open_warm(dir_);
      s.generation = now;
    } catch (const std::exception& e) {
      spdlog::warn("search index unreadable: {}", e.what());
      s.index.reset();
    }
  }
  return lease;
}

void SearchReaders::give_back(size_t slot) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }
  returned_.notify_one();
}

}  // namespace agora
