// Read-only handles on the search index for the threads that query it: a fixed set,
// opened together on first use and lent out one per query, each reopened on its next
// loan after the indexer commits. HTTP workers search side by side, none waits on another.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "node/local/data_dir.hpp"
#include "node/search/search_index.hpp"

namespace agora {

// How far the node's index has got, for lag reports and for answering without it.
struct IndexProgress {
  std::atomic<uint64_t> position{0};  // log position indexed up to
  std::atomic<bool> complete{false};  // a whole build has finished (q= searches can be answered)
};

class SearchReaders {
 public:
  // readers: as many as threads query at once (more callers wait for one to come back).
  SearchReaders(DataDir& dir, unsigned readers);

  // One reader for the caller's query; empty (get() == nullptr) while no index exists yet
  // or it cannot be read.
  class Lease {
   public:
    Lease() = default;
    Lease(SearchReaders* owner, size_t slot) : owner_(owner), slot_(slot) {}
    Lease(Lease&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), slot_(other.slot_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    const SearchIndex* get() const;

   private:
    SearchReaders* owner_ = nullptr;
    size_t slot_ = 0;
  };
  Lease acquire();
  // The indexer committed: each reader reopens before its next loan.
  void committed() { generation_.fetch_add(1, std::memory_order_release); }

 private:
  struct Slot {
    uint64_t generation = 0;
    std::unique_ptr<SearchIndex> index;
  };
  void give_back(size_t slot);

  DataDir& dir_;
  std::atomic<uint64_t> generation_{1};
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Slot> slots_;
  std::vector<size_t> free_;
};

}  // namespace agora
