# Installs Debian packages the scripts need, once: as root with apt-get, otherwise it says what to run.
# Sourced by the scripts; `install_packages PACKAGE...` with only the missing ones (nothing when empty).
install_packages() {
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    printf '[packages] installing %s from Debian'"'"'s packages\n' "$*" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    printf '[packages] error: missing %s: install them (Debian/Ubuntu: sudo apt-get install %s) and run again\n' "$*" "$*" >&2
    exit 1
  fi
}
