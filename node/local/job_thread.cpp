#include "node/local/job_thread.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace agora {

JobThread::JobThread(const char* name, unsigned threads, Priority priority) : name_(name), priority_(priority) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), name_.c_str());
      // Linux schedules threads on their own: this nice level is this thread's alone.
      if (priority_ == Priority::background && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19) != 0)
        spdlog::debug("{}: cannot lower the thread's priority", name_);
      loop();
    });
}

JobThread::~JobThread() { stop(); }

void JobThread::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void JobThread::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

size_t JobThread::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void JobThread::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every queued job has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();  // jobs report their own outcome; an escaped error must not end the node
    } catch (const std::exception& e) {
      spdlog::error("{}: a background job failed: {}", name_, e.what());
    } catch (...) {
      spdlog::error("{}: a background job failed", name_);
    }
  }
}

}  // namespace agora
