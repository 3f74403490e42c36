#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Style and static checks, run by scripts/test.sh after the build:
#  - clang-format: every tracked C++ file matches .clang-format (`scripts/lint.sh --fix` rewrites
#    them in place instead);
#  - clang-tidy: every file the build in BUILD_DIR compiles (src/, tests/, bench/; fuzz/ is built
#    only by scripts/fuzz.sh) passes the checks .clang-tidy lists, as errors.
# A missing tool is skipped with a message: scripts/deps.sh installs both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fix=0
if [ "${1:-}" = --fix ]; then fix=1; shift; fi
build="${1:-$root/build-test}"
cd "$root"
status=0

mapfile -t sources < <(git ls-files '*.cpp' '*.h')
if command -v clang-format >/dev/null; then
  if [ $fix = 1 ]; then
    clang-format -i "${sources[@]}"
  elif ! clang-format --dry-run -Werror "${sources[@]}" 2>/tmp/tlbsim-format.$$; then
    head -40 /tmp/tlbsim-format.$$ >&2
    echo "tlbsim lint: clang-format: $(grep -c 'error:' /tmp/tlbsim-format.$$) lines differ from .clang-format; scripts/lint.sh --fix rewrites them" >&2
    status=1
  else
    echo "tlbsim lint: clang-format: ${#sources[@]} files match .clang-format"
  fi
  rm -f /tmp/tlbsim-format.$$
else
  echo "tlbsim lint: SKIPPED clang-format: not installed (scripts/deps.sh installs it)" >&2
fi

if [ $fix = 1 ]; then exit 0; fi
if command -v run-clang-tidy >/dev/null && [ -f "$build/compile_commands.json" ]; then
  # The files of this checkout that the build compiles (the build tree's generated files are not
  # ours to check).
  mapfile -t units < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$build/compile_commands.json" | grep "^$root/\(src\|tests\|bench\)/" | sort -u)
  # CMakeLists.txt turns on -Wconversion for GCC only: clang's also flags every sign change.
  if run-clang-tidy -p "$build" -j "$(nproc)" -quiet -extra-arg=-Wno-sign-conversion "${units[@]}" >/tmp/tlbsim-tidy.$$ 2>&1; then
    echo "tlbsim lint: clang-tidy: ${#units[@]} files pass .clang-tidy"
  else
    sed 's/\x1b\[[0-9;]*m//g' /tmp/tlbsim-tidy.$$ | grep -E "(warning|error):" | sort -u | head -60 >&2 || true
    echo "tlbsim lint: clang-tidy: the files above fail .clang-tidy" >&2
    status=1
  fi
  rm -f /tmp/tlbsim-tidy.$$
elif ! command -v run-clang-tidy >/dev/null; then
  echo "tlbsim lint: SKIPPED clang-tidy: not installed (scripts/deps.sh installs it)" >&2
else
  echo "tlbsim lint: SKIPPED clang-tidy: no $build/compile_commands.json (configure the build first)" >&2
fi
exit $status
