// SPDX-License-Identifier: MIT
// The memory and process calls tlbsim import must read, made by one real program so that their
// strace lines are real (tests/trace/recorded/README.md says how edge-cases.strace was recorded):
// a huge PROT_NONE reservation carved up by mprotect, failed calls, a signal delivered to a
// handler, a vfork child that execs, a forked child killed by a signal, and a second thread that
// execs while the first is blocked (strace's "superseded by execve").
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

static void* exec_from_thread(void* arg) {
  (void)arg;
  char* const argv[] = {"/bin/true", NULL};
  execv("/bin/true", argv);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "thread-exec") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, exec_from_thread, NULL);
    pause();
    return 1;
  }
  // A 128 GiB reservation (past what one scenario op may name) and a 1 GiB one, each with a
  // writable window mprotect opens in it.
  const size_t huge = (size_t)128 << 30, big = (size_t)1 << 30;
  char* h = mmap(NULL, huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  char* b = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  mprotect(h + (1 << 20), 1 << 16, PROT_READ | PROT_WRITE);
  mprotect(b + (1 << 20), 1 << 16, PROT_READ | PROT_WRITE);
  memset(b + (1 << 20), 1, 1 << 16);
  // Failed calls: an unaligned munmap, a MAP_FIXED_NOREPLACE onto a mapping, an mprotect of a
  // hole.
  munmap(b + 1, 4096);
  mmap(b, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  mprotect((void*)0x1000, 4096, PROT_READ);
  madvise(b + (1 << 20), 1 << 16, MADV_DONTNEED);
  madvise(b + (1 << 20), 1 << 16, MADV_WILLNEED);
  // A signal to a handler.
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  // A vfork child that execs.
  pid_t v = vfork();
  if (v == 0) {
    char* const args[] = {"/bin/true", NULL};
    execv("/bin/true", args);
    _exit(127);
  }
  waitpid(v, NULL, 0);
  // A fork child killed by a signal, after it mapped and touched memory of its own.
  pid_t f = fork();
  if (f == 0) {
    char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    raise(SIGKILL);
  }
  waitpid(f, NULL, 0);
  // A process whose second thread execs.
  pid_t e = fork();
  if (e == 0) {
    char* const args[] = {argv[0], "thread-exec", NULL};
    execv(argv[0], args);
    _exit(127);
  }
  waitpid(e, NULL, 0);
  munmap(b, big);
  munmap(h, huge);
  return 0;
}
