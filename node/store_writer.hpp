// The node's single LMDB writer: a thread that runs write jobs in order, so network
// threads never wait on a commit (or on the fsync behind it).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace agora {

class StoreWriter {
 public:
  StoreWriter();
  ~StoreWriter();  // finishes queued jobs, then stops
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Runs job on the writer thread; jobs run one at a time in submission order.
  void submit(std::function<void()> job);
  size_t queued() const;
  void stop();

 private:
  void loop();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agora
