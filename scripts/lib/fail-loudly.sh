# Sourced by every script the README's commands run. Any command that fails
# outside a condition prints the script, the line and the command, so a stage
# never ends with a bare exit status. Works with and without `set -e`.
set -E
trap 'ww_failed_status=$?; printf "%s: line %s: command failed (status %s): %s\n" "${BASH_SOURCE[0]##*/}" "$LINENO" "$ww_failed_status" "$BASH_COMMAND" >&2' ERR
# die MESSAGE...: print the reason and stop with status 1.
die() { printf '%s: %s\n' "${BASH_SOURCE[1]##*/}" "$*" >&2; exit 1; }
