#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace kiln {

static thread_local bool insideTask = false;

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int w = 1; w < threads_; w++) workers_.emplace_back([this, w] { work(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work(int worker) {
  long seen = 0;
  for (;;) {
    const std::function<void(int, int)>* job;
    int tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      tasks = tasks_;
    }
    insideTask = true;
    for (int t = worker; t < tasks; t += threads_) (*job)(t, worker);
    insideTask = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int tasks, const std::function<void(int, int)>& fn) {
  if (tasks <= 0) return;
  if (tasks == 1 || threads_ == 1 || insideTask) {
    for (int t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    tasks_ = tasks;
    active_ = threads_ - 1;
    generation_++;
  }
  wake_.notify_all();
  // Static assignment (task t on worker t mod size): a caller that grabbed every task before the
  // workers woke would serialise short kernels.
  insideTask = true;
  for (int t = 0; t < tasks; t += threads_) fn(t, 0);
  insideTask = false;
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return active_ == 0; });
  job_ = nullptr;
}

int configuredThreads() {
  const char* env = std::getenv("KILN_NUM_THREADS");
  if (env != nullptr) {
    int n = std::atoi(env);
    if (n > 0) return n > 256 ? 256 : n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool& pool() {
  static ThreadPool instance(configuredThreads());
  return instance;
}

void parallelFor(long n, long minChunk, const std::function<void(long, long, int)>& fn, int oversplit) {
  if (n <= 0) return;
  int threads = pool().size();
  long chunks = static_cast<long>(threads) * oversplit;
  if (minChunk < 1) minChunk = 1;
  if (n / minChunk < chunks) chunks = n / minChunk;
  if (chunks < 1) chunks = 1;
  if (chunks == 1) {
    fn(0, n, 0);
    return;
  }
  long per = n / chunks, extra = n % chunks;
  pool().run(static_cast<int>(chunks), [&](int task, int worker) {
    long begin = task * per + (task < extra ? task : extra);
    long end = begin + per + (task < extra ? 1 : 0);
    fn(begin, end, worker);
  });
}

}  // namespace kiln

namespace kiln {

void parallelDynamic(long n, const std::function<void(long, int)>& fn) {
  if (n <= 0) return;
  std::atomic<long> next{0};
  int tasks = static_cast<int>(std::min<long>(pool().size(), n));
  pool().run(tasks, [&](int, int worker) {
    for (long i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i, worker);
  });
}

}  // namespace kiln
