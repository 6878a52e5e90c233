// A fixed pool of worker threads with a blocking parallel-for (the CPU backend splits rows/heads over it).
#pragma once
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace serval {

class ThreadPool {
 public:
  explicit ThreadPool(int numThreads);  // <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  /** Runs fn(begin, end) over [0, n) in contiguous chunks on all threads (the caller included); returns when done. */
  void parallelFor(size_t n, const std::function<void(size_t, size_t)>& fn);

 private:
  void workerLoop(int index);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t jobN_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace serval
