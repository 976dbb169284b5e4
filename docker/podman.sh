# Sourced by docker/build and docker/test: podman as containers.md of this
# project's machines says it works (runc, cgroupfs, the file event logger,
# storage in an ignored folder of the repository), and the Debian base
# image, made once with mmdebstrap and imported.
PODDIR=$(pwd)/.deps/podman
export PODDIR
mkdir -p "$PODDIR"
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing (make deps installs podman, runc, mmdebstrap)" >&2; exit 2; }
done
cat >"$PODDIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$PODDIR/containers.conf"
pod() { podman --root "$PODDIR/root" --runroot "$PODDIR/run" "$@"; }
base_image() {
  pod image exists localhost/debian:bookworm-slim && return 0
  echo "image: making the Debian base with mmdebstrap" >&2
  mmdebstrap --quiet --variant=minbase --aptopt='Dir::Cache::pkgcache "";' \
    --aptopt='Dir::Cache::srcpkgcache "";' --aptopt='APT::Install-Recommends "false";' \
    --dpkgopt='path-exclude=/usr/share/doc/*' bookworm "$PODDIR/base.tar"
  pod import --change 'CMD ["/bin/bash"]' "$PODDIR/base.tar" localhost/debian:bookworm-slim >/dev/null
  rm -f "$PODDIR/base.tar"
}
