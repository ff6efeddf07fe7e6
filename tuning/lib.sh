# shellcheck shell=bash disable=SC2034  # the variables are read by the scripts that source this file
# Shared by apply.sh, revert.sh and check.sh: where settings live and how to compare them.

tuning_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The three roots can point at a scratch directory to try the scripts safely.
proc_sys="${STADIUM_PROC_SYS:-/proc/sys}"
etc_dir="${STADIUM_ETC_DIR:-/etc}"
state_dir="${STADIUM_TUNING_STATE_DIR:-/var/lib/stadium-tuning}"
state_file="$state_dir/saved-sysctl.tsv"
installed_sysctl="$etc_dir/sysctl.d/90-stadium.conf"
installed_limits="$etc_dir/security/limits.d/90-stadium.conf"

setting_path() {
  printf '%s/%s\n' "$proc_sys" "${1//.//}"
}

setting_exists() {
  [[ -f "$(setting_path "$1")" ]]
}

# Prints the value with runs of whitespace squeezed to one space.
read_setting() {
  local words
  read -r -a words < "$(setting_path "$1")"
  printf '%s\n' "${words[*]}"
}

write_setting() {
  printf '%s\n' "$2" > "$(setting_path "$1")"
}

# Prints "key<TAB>value" for every setting in sysctl.conf.
wanted_settings() {
  local line key value
  local -a words
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    key="${line%%=*}"
    value="${line#*=}"
    key="${key//[[:space:]]/}"
    read -r -a words <<< "$value"
    printf '%s\t%s\n' "$key" "${words[*]}"
  done < "$tuning_dir/sysctl.conf"
}

# How a host value is judged against a wanted one: at-least, at-most or exact.
comparison_for() {
  case "$1" in
    net.ipv4.tcp_fin_timeout) echo at-most ;;
    net.ipv4.ip_local_port_range | net.ipv4.tcp_rmem | net.ipv4.tcp_wmem | \
      net.ipv4.tcp_tw_reuse | net.ipv4.tcp_syncookies) echo exact ;;
    *) echo at-least ;;
  esac
}

# True when every field of the host value satisfies the comparison with the wanted field.
satisfies() {
  local comparison="$1" host="$2" wanted="$3" i
  local -a host_fields wanted_fields
  read -r -a host_fields <<< "$host"
  read -r -a wanted_fields <<< "$wanted"
  [[ "${#host_fields[@]}" -eq "${#wanted_fields[@]}" ]] || return 1
  for i in "${!wanted_fields[@]}"; do
    case "$comparison" in
      at-least) (( host_fields[i] >= wanted_fields[i] )) || return 1 ;;
      at-most) (( host_fields[i] <= wanted_fields[i] )) || return 1 ;;
      exact) [[ "${host_fields[i]}" == "${wanted_fields[i]}" ]] || return 1 ;;
    esac
  done
}
