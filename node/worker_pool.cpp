#include "node/worker_pool.hpp"

#include <pthread.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace agora {

unsigned default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

void parallel_for(size_t n, const std::function<void(size_t)>& fn, unsigned threads) {
  if (threads == 0) threads = default_threads();
  if (n < 64 || threads == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    constexpr size_t kChunk = 8;
    for (;;) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= n) return;
      try {
        for (size_t i = begin; i < std::min(n, begin + kChunk); ++i) fn(i);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back([&] {
      pthread_setname_np(pthread_self(), "agora-worker");
      work();
    });
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace agora
