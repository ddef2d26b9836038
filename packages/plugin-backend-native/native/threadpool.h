// A fixed pool of worker threads; the calling thread takes part, so `threads` is the total.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return threads_; }
  // Runs fn(task, worker) for task in [0, tasks); worker in [0, size()) indexes per-thread scratch.
  // Nested calls (from inside a task) run serially on the calling thread.
  void run(int tasks, const std::function<void(int, int)>& fn);

 private:
  void work(int worker);
  int threads_;
  std::vector<std::thread> workers_;
  // Workers and the caller spin briefly before sleeping on these: waking a sleeping thread costs tens of µs
  // (more in a VM), as much as a whole element-wise kernel on a million floats.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<const std::function<void(int, int)>*> job_{nullptr};
  std::atomic<int> tasks_{0};
  std::atomic<int> active_{0};
  std::atomic<long> generation_{0};
  std::atomic<int> sleepers_{0};
  bool callerWaiting_ = false;  // guarded by mutex_
  std::atomic<bool> stop_{false};
};

ThreadPool& pool();
int configuredThreads();

// Runs fn(i, worker) for every i in [0, n), each thread taking the next index as it finishes one: balances
// uneven items and cores slowed by other processes (big kernels whose items are ≥ ~100 µs each).
void parallelDynamic(long n, const std::function<void(long, int)>& fn);

// Runs fn(i, worker) for every i in [0, n), each worker taking one fixed contiguous range in increasing
// order. For reductions into per-worker partial sums: which items a worker sums, and in what order, depends
// only on n and the thread count, so results are the same from run to run (parallelDynamic's are not).
void parallelStatic(long n, const std::function<void(long, int)>& fn);

// Splits [0, n) into at most pool().size() * oversplit contiguous chunks and runs them.
void parallelFor(long n, long minChunk, const std::function<void(long, long, int)>& fn, int oversplit = 1);

}  // namespace kiln
