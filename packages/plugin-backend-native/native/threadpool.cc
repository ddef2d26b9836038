#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>

namespace kiln {

static thread_local bool insideTask = false;

namespace {

// How long a worker (or the caller) spins for the next job (or the workers' finish) before sleeping.
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or kSpin has passed; true when done() became true.
template <typename Done>
bool spinUntil(Done done) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 1;; i++) {
    if (done()) return true;
    cpuRelax();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() - start > kSpin) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int w = 1; w < threads_; w++) workers_.emplace_back([this, w] { work(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work(int worker) {
  long seen = 0;
  for (;;) {
    auto fresh = [&] { return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
    if (!spinUntil(fresh)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, fresh);
      sleepers_.fetch_sub(1);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    const std::function<void(int, int)>* job = job_.load(std::memory_order_acquire);
    const int tasks = tasks_.load(std::memory_order_acquire);
    insideTask = true;
    for (int t = worker; t < tasks; t += threads_) (*job)(t, worker);
    insideTask = false;
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (callerWaiting_) done_.notify_one();
    }
  }
}

void ThreadPool::run(int tasks, const std::function<void(int, int)>& fn) {
  if (tasks <= 0) return;
  if (tasks == 1 || threads_ == 1 || insideTask) {
    for (int t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  job_.store(&fn, std::memory_order_release);
  tasks_.store(tasks, std::memory_order_release);
  active_.store(threads_ - 1, std::memory_order_release);
  {
    // Under the mutex: a worker between its check and its wait cannot miss the new generation.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  if (sleepers_.load() > 0) wake_.notify_all();
  // Static assignment (task t on worker t mod size): a caller that grabbed every task before the
  // workers woke would serialise short kernels.
  insideTask = true;
  for (int t = 0; t < tasks; t += threads_) fn(t, 0);
  insideTask = false;
  auto finished = [&] { return active_.load(std::memory_order_acquire) == 0; };
  if (!spinUntil(finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    callerWaiting_ = true;
    done_.wait(lock, finished);
    callerWaiting_ = false;
  }
  job_.store(nullptr, std::memory_order_release);
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

void parallelStatic(long n, const std::function<void(long, int)>& fn) {
  // At most one chunk per thread, and run() puts task t on worker t: a chunk's worker is fixed.
  parallelFor(n, 1, [&](long begin, long end, int worker) {
    for (long i = begin; i < end; i++) fn(i, worker);
  });
}

void parallelDynamic(long n, const std::function<void(long, int)>& fn) {
  if (n <= 0) return;
  std::atomic<long> next{0};
  int tasks = static_cast<int>(std::min<long>(pool().size(), n));
  pool().run(tasks, [&](int, int worker) {
    for (long i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i, worker);
  });
}

}  // namespace kiln
