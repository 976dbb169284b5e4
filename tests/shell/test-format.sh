# The tree stays formatted: clang-format (with the committed .clang-format)
# would change nothing. Fix with `make format`.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
command -v clang-format >/dev/null || fail "clang-format is not installed (make deps installs it)"
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' '*.cc')
[ -n "$files" ] || fail "no C files found"
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files || fail "not formatted: run 'make format'"
