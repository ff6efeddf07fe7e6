#!/usr/bin/env bash
# Restores the values apply.sh saved and removes the files it installed. Safe to run twice.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ "$(id -u)" -ne 0 ]]; then
  echo "revert.sh: must run as root, it changes kernel settings and /etc: sudo $0" >&2
  exit 1
fi

if [[ ! -f "$state_file" && ! -f "$installed_sysctl" && ! -f "$installed_limits" ]]; then
  echo "nothing to revert: apply.sh has not run here (no $state_file)"
  exit 0
fi

if [[ -f "$state_file" ]]; then
  while IFS=$'\t' read -r key saved; do
    if ! setting_exists "$key"; then
      echo "skip     $key: no longer on this kernel"
      continue
    fi
    if ! write_setting "$key" "$saved" 2> /dev/null; then
      echo "revert.sh: cannot write $key (is /proc/sys read-only?); $state_file is kept" >&2
      exit 1
    fi
    echo "restored $key = $saved"
  done < "$state_file"
fi

rm -f "$installed_sysctl" "$installed_limits" "$state_file"
rmdir "$state_dir" 2> /dev/null || true
echo "removed $installed_sysctl and $installed_limits; nofile reverts for new logins"
