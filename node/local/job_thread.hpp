// Threads that run submitted jobs. With one thread (the default) jobs run one at a time in
// submission order. The node has the single LMDB writer (network threads never wait on a
// commit or the fsync behind it), the verifier that checks the next batch on all cores
// while the writer commits the last, the search indexer (at background priority) and the
// HTTP workers that answer reads and searches off the io thread (docs/architecture.md).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agora {

class JobThread {
 public:
  // Background threads run at the lowest CPU priority (nice 19): derived work that must
  // never slow what peers and readers wait for.
  enum class Priority { normal, background };
  // name: as `top -H` shows the threads (≤ 15 chars). More than one thread: jobs start in
  // submission order and run side by side.
  explicit JobThread(const char* name, unsigned threads = 1, Priority priority = Priority::normal);
  ~JobThread();  // finishes queued jobs, then stops
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Runs job on this thread; jobs run one at a time in submission order.
  void submit(std::function<void()> job);
  size_t queued() const;  // submitted, not started
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }
  void stop();

 private:
  void loop();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::string name_;
  Priority priority_;
  std::vector<std::thread> threads_;
};

}  // namespace agora
