#include "node/local/worker_pool.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace agora {

namespace {

// One parallel_for call: the items still to take, and who is working on them.
struct Job {
  size_t n = 0;
  const std::function<void(size_t)>* fn = nullptr;
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::condition_variable idle;
  size_t active = 0;  // workers inside run()
  std::exception_ptr failure;

  void run() {
    constexpr size_t kChunk = 8;
    for (;;) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= n) return;
      try {
        for (size_t i = begin; i < std::min(n, begin + kChunk); ++i) (*fn)(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        next = n;
        return;
      }
    }
  }
};

// The workers: started once, then waiting for jobs for the life of the process (never
// destroyed, so no exit-time destructor races a worker).
class Pool {
 public:
  static Pool& instance() {
    static Pool* pool = new Pool(default_threads() > 1 ? default_threads() - 1 : 0);
    return *pool;
  }
  size_t size() const { return threads_.size(); }

  // Lets `helpers` workers join the job; a worker that comes late finds nothing left.
  void offer(const std::shared_ptr<Job>& job, size_t helpers) {
    {
      std::lock_guard lock(mutex_);
      for (size_t i = 0; i < helpers; ++i) queue_.push_back(job);
    }
    helpers == 1 ? wake_.notify_one() : wake_.notify_all();
  }

 private:
  explicit Pool(size_t n) {
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { loop(); });
  }
  void loop() {
    pthread_setname_np(pthread_self(), "agora-worker");
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      {
        std::lock_guard lock(job->mutex);
        if (job->next >= job->n) continue;  // done before this worker came
        ++job->active;
      }
      job->run();
      {
        std::lock_guard lock(job->mutex);
        --job->active;
      }
      job->idle.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace

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
  Pool& pool = Pool::instance();
  auto job = std::make_shared<Job>();
  job->n = n;
  job->fn = &fn;
  pool.offer(job, std::min<size_t>(threads - 1, pool.size()));
  job->run();
  // fn and its captures live on this stack: return only once no worker is inside it.
  std::unique_lock lock(job->mutex);
  job->idle.wait(lock, [&] { return job->active == 0; });
  if (job->failure) std::rethrow_exception(job->failure);
}

}  // namespace agora
