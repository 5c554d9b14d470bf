// A thread that runs jobs one at a time in submission order. The node has three: the single
// LMDB writer (network threads never wait on a commit or the fsync behind it), the
// verifier that checks the next batch on all cores while the writer commits the last, and
// the search indexer (docs/architecture.md).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace agora {

class JobThread {
 public:
  explicit JobThread(const char* name);  // the thread's name as `top -H` shows it (≤ 15 chars)
  ~JobThread();                          // finishes queued jobs, then stops
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Runs job on this thread; jobs run one at a time in submission order.
  void submit(std::function<void()> job);
  size_t queued() const;
  void stop();

 private:
  void loop();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::string name_;
  std::thread thread_;
};

}  // namespace agora
