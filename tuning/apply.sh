#!/usr/bin/env bash
# Applies sysctl.conf now and for later boots, installs limits.conf, and saves every value it
# changes so revert.sh can restore it. Running it twice changes nothing more.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ "$(id -u)" -ne 0 ]]; then
  echo "apply.sh: must run as root, it changes kernel settings and /etc: sudo $0" >&2
  exit 1
fi

mkdir -p "$state_dir"
touch "$state_file"

while IFS=$'\t' read -r key wanted; do
  if ! setting_exists "$key"; then
    echo "skip  $key: not on this kernel (module not loaded), nothing to do"
    continue
  fi
  host="$(read_setting "$key")"
  if satisfies "$(comparison_for "$key")" "$host" "$wanted"; then
    echo "ok    $key = $host"
    continue
  fi
  # Only the first run records a value: later runs would record our own setting.
  if ! cut -f1 "$state_file" | grep -qxF "$key"; then
    printf '%s\t%s\n' "$key" "$host" >> "$state_file"
  fi
  if ! write_setting "$key" "$wanted" 2> /dev/null; then
    echo "apply.sh: cannot write $key (is /proc/sys read-only, as in a container?)" >&2
    exit 1
  fi
  echo "set   $key: $host -> $wanted"
done < <(wanted_settings)

# Boot reapplies only what we changed: a host default above ours must not be lowered at boot.
mkdir -p "$(dirname "$installed_sysctl")"
{
  echo "# Written by Stadium tuning/apply.sh: the settings it raised; tuning/revert.sh removes this file."
  while IFS=$'\t' read -r key wanted; do
    if cut -f1 "$state_file" | grep -qxF "$key"; then
      printf '%s = %s\n' "$key" "$wanted"
    fi
  done < <(wanted_settings)
} > "$installed_sysctl"
install -D -m 0644 "$tuning_dir/limits.conf" "$installed_limits"
echo "installed $installed_sysctl and $installed_limits (kept across reboots)"
echo "saved previous values in $state_file; tuning/revert.sh restores them"
echo "nofile applies to new logins; for a systemd service set LimitNOFILE=1048576:2097152"
