# SPDX-License-Identifier: MIT
# Shared by scripts/update-golden.sh and scripts/update-docs.sh; sourced.

# update_from_tests ROOT VARIABLE TAG PATH...: build the test binary in ROOT/build-test, run the
# tests tagged TAG with VARIABLE=1 (they rewrite the committed files they compare), then show
# what changed under PATH.
update_from_tests() {
  local root="$1" variable="$2" tag="$3" build="$1/build-test"
  shift 3
  [ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DTLBSIM_WERROR=ON >/dev/null
  cmake --build "$build" --target tlbsim_tests
  env "$variable=1" "$build/tests/tlbsim_tests" "$tag" >/dev/null
  git -C "$root" diff --stat -- "$@"
}
