// SPDX-License-Identifier: MIT
#pragma once
/// Simulated kernel code is written as straight-line C++20 coroutines that suspend where another
/// CPU or a device can observe memory: before taking a lock, after a PTE store, between a flush
/// and the free that depends on it. A Thread owns the root coroutine; the scheduler resumes it
/// one step at a time. Nested calls (`co_await tlb_finish_mmu(...)`) use symmetric transfer, so
/// a suspension deep inside a call chain suspends the whole thread.
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace tlbsim::kernel {

/// A simulated thread of execution: a CPU thread, a device, or a kernel thread.
struct ThreadState {
  int id = 0;
  std::string name;
  /// Innermost suspended coroutine; resuming it runs the thread's next step.
  std::coroutine_handle<> resume_point;
  /// When set, the next step may run only once this returns true (a lock or a kernel wait).
  std::function<bool()> ready;
  /// What the next step starts with: a kernel function or lock name.
  std::string next_label;
  /// The next step starts at a hardware point (hardware_point()): it runs the CPU, device and
  /// IOMMU model up to the next scheduling point, and no kernel code.
  bool next_hardware = false;
  bool done = false;
  /// run_sync()'s private thread: nothing else is scheduled, so a step whose condition already
  /// holds need not suspend at all.
  bool sync = false;
  std::exception_ptr error;
  bool runnable() const { return !done && (!ready || ready()); }
};

namespace detail {
// Inline and constant-initialised, so reading it is one thread-local load on every step.
inline thread_local ThreadState* t_current = nullptr;
}  // namespace detail

/// The thread whose step is running; set by the scheduler around each resume.
inline ThreadState* current_thread() { return detail::t_current; }
inline void set_current_thread(ThreadState* t) { detail::t_current = t; }

template <class T = void>
class Task;

namespace detail {
/// Coroutine frames come and go at every simulated kernel call; recycling them per size class
/// keeps malloc off the per-page paths.
void* frame_alloc(std::size_t n);
void frame_free(void* p, std::size_t n) noexcept;

struct PromiseBase {
  // The sized delete below is the one a coroutine frame is freed with.
  static void* operator new(std::size_t n) { return frame_alloc(n); }  // NOLINT(misc-new-delete-overloads)
  static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }
  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto c = h.promise().continuation;
      return c ? c : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() { error = std::current_exception(); }
};
}  // namespace detail

namespace detail {
/// What every Task is, whatever it returns: the owner of its coroutine frame, awaited by
/// running it with the awaiting coroutine as its continuation.
template <class Promise>
class TaskBase {
 public:
  explicit TaskBase(std::coroutine_handle<Promise> h) : m_h(h) {}
  TaskBase(TaskBase&& o) noexcept : m_h(std::exchange(o.m_h, {})) {}
  TaskBase& operator=(TaskBase&& o) noexcept {
    if (this != &o) {
      if (m_h) m_h.destroy();
      m_h = std::exchange(o.m_h, {});
    }
    return *this;
  }
  ~TaskBase() {
    if (m_h) m_h.destroy();
  }
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    m_h.promise().continuation = caller;
    return m_h;
  }
  std::coroutine_handle<Promise> handle() const { return m_h; }

 protected:
  void rethrow_error() const {
    if (m_h.promise().error) std::rethrow_exception(m_h.promise().error);
  }
  std::coroutine_handle<Promise> m_h;
};

template <class T>
struct TaskPromise : PromiseBase {
  T value{};
  Task<T> get_return_object();
  void return_value(T v) { value = std::move(v); }
};
struct VoidTaskPromise : PromiseBase {
  Task<void> get_return_object();
  void return_void() {}
};
}  // namespace detail

/// [[nodiscard]]: a task that is neither awaited nor run does nothing at all, which is never
/// what a call site means.
template <class T>
class [[nodiscard]] Task : public detail::TaskBase<detail::TaskPromise<T>> {
 public:
  using promise_type = detail::TaskPromise<T>;
  using detail::TaskBase<promise_type>::TaskBase;
  T await_resume() {
    this->rethrow_error();
    return std::move(this->m_h.promise().value);
  }
};

template <>
class [[nodiscard]] Task<void> : public detail::TaskBase<detail::VoidTaskPromise> {
 public:
  using promise_type = detail::VoidTaskPromise;
  using detail::TaskBase<promise_type>::TaskBase;
  void await_resume() { rethrow_error(); }
  bool done() const { return !m_h || m_h.done(); }
  std::exception_ptr error() const { return m_h ? m_h.promise().error : nullptr; }
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() {
  return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}
inline Task<void> VoidTaskPromise::get_return_object() { return Task<void>{std::coroutine_handle<VoidTaskPromise>::from_promise(*this)}; }
}  // namespace detail

/// Suspend here; the next step starts with `label`, runnable when `ready` says so.
struct Suspend {
  std::string label;
  std::function<bool()> ready;
  bool await_ready() const {
    const ThreadState* t = current_thread();
    return t && t->sync && (!ready || ready());
  }
  void await_suspend(std::coroutine_handle<> h) {
    ThreadState* t = current_thread();
    t->resume_point = h;
    t->next_label = std::move(label);
    t->next_hardware = false;
    t->ready = std::move(ready);
  }
  void await_resume() const noexcept {
    if (ThreadState* t = current_thread()) t->ready = nullptr;
  }
};

/// A scheduling point that waits for nothing, labelled by a string literal: the label is copied
/// only if a scheduler suspends the thread, so a step under run_sync() costs a flag test.
struct YieldPoint {
  const char* label;
  bool hardware = false;  ///< see hardware_point()
  bool await_ready() const noexcept {
    const ThreadState* t = current_thread();
    return t && t->sync;
  }
  void await_suspend(std::coroutine_handle<> h) {
    ThreadState* t = current_thread();
    t->resume_point = h;
    t->next_label = label;
    t->next_hardware = hardware;
    t->ready = nullptr;
  }
  void await_resume() const noexcept {}
};

/// A scheduling point: another thread or a device may run before `label`.
inline YieldPoint yield_point(const char* label) { return YieldPoint{label}; }
inline Suspend yield_point(std::string label) { return Suspend{std::move(label), nullptr}; }
/// A scheduling point after which, up to the thread's next scheduling point, only hardware runs
/// (a CPU's load or store, a device's DMA: translation and access), not kernel code. The explorer
/// relies on it: such a step changes only state the hardware model reports by events.
inline YieldPoint hardware_point(const char* label) { return YieldPoint{label, true}; }
/// A kernel wait (migration_entry_wait, a shadow MMU's fault retry): runnable once `cond` holds.
inline Suspend wait_until(std::string label, std::function<bool()> cond) { return Suspend{std::move(label), std::move(cond)}; }

/// Run a task to completion on a private thread (setup, benches, tests): every suspension
/// resumes at once. A step that waits for a condition that never holds is a deadlock, reported
/// by exception rather than a hang.
template <class T>
T run_sync(Task<T>& t, int thread_id = 9999) {
  ThreadState self{.id = thread_id, .name = "sync", .sync = true};
  ThreadState* prev = current_thread();
  set_current_thread(&self);
  self.resume_point = t.handle();
  while (!t.handle().done()) {
    if (self.ready && !self.ready()) {
      set_current_thread(prev);
      throw std::logic_error("run_sync: thread waits for '" + self.next_label + "' which can never become ready");
    }
    self.resume_point.resume();
  }
  set_current_thread(prev);
  return t.await_resume();
}
template <class T>
T run_sync(Task<T>&& t, int thread_id = 9999) {
  return run_sync(t, thread_id);
}

}  // namespace tlbsim::kernel
