# Installs Debian packages the scripts need, once: as root with apt-get, otherwise it says what to run.
# Sourced by the scripts; `install_packages [--with-recommends] PACKAGE...` with only the missing ones
# (nothing when empty). Packages come without what they merely recommend unless asked for.
install_packages() {
  local recommends=--no-install-recommends
  if [ "${1:-}" = --with-recommends ]; then recommends=--install-recommends; shift; fi
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    printf '[packages] installing %s from Debian'"'"'s packages\n' "$*" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$recommends" "$@" >/dev/null
  else
    printf '[packages] error: missing %s: install them (Debian/Ubuntu: sudo apt-get install %s) and run again\n' "$*" "$*" >&2
    exit 1
  fi
}
