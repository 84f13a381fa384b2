# Sourced by the ensure-*.sh scripts: apt-get that waits for another installation's lock (up to
# 10 minutes: an unattended upgrade, or a second `make test` installing at the same moment) instead of
# failing at once with "Could not get lock /var/lib/dpkg/lock-frontend".
APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-600}
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@"
}
apt_install() {
  apt_get update -qq && apt_get install -y -qq "$@" >/dev/null
}
