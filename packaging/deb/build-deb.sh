#!/bin/sh
# build-deb.sh STAGE OUTDIR — turns a `make install DESTDIR=STAGE PREFIX=/usr` tree into
# OUTDIR/cwagent_<version>_<arch>.deb with dpkg-deb (no network, no debhelper).
# Depends: from dpkg-shlibdeps when it is installed (dpkg-dev), else deb/depends.static.
set -eu

STAGE="$1"
OUT="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "${HERE}/../.." && pwd)"

VERSION="$(sed -n 's/^#define CWAGENT_VERSION "\(.*\)"/\1/p' "${REPO}/agent/version.h")"
ARCH="$(dpkg --print-architecture)"
DOC="${STAGE}/usr/share/doc/cwagent"
BIN="${STAGE}/usr/bin/cwagent"

# dh_strip's flags: keep the dynamic symbols, drop debug info and notes.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "${BIN}"

install -d -m 0755 "${DOC}" "${STAGE}/DEBIAN"
install -m 0644 "${HERE}/copyright" "${DOC}/copyright"
gzip -9n <"${HERE}/changelog" >"${DOC}/changelog.gz"
chmod 0644 "${DOC}/changelog.gz"
install -d -m 0755 "${STAGE}/usr/share/lintian/overrides"
install -m 0644 "${HERE}/lintian-overrides" "${STAGE}/usr/share/lintian/overrides/cwagent"

# The state directory is made by postinst (owned by the cwagent user, 0700), not shipped.
rm -rf "${STAGE:?}/var"

shlib_depends() {
    if command -v dpkg-shlibdeps >/dev/null 2>&1; then
        tmp="$(mktemp -d)"
        mkdir "${tmp}/debian"
        printf 'Source: cwagent\n\nPackage: cwagent\nArchitecture: any\n' >"${tmp}/debian/control"
        bin="$(cd "$(dirname "${BIN}")" && pwd)/cwagent"
        deps="$(cd "${tmp}" && dpkg-shlibdeps -O "${bin}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
        rm -rf "${tmp}"
        if [ -n "${deps}" ]; then
            echo "${deps}"
            return 0
        fi
    fi
    cat "${HERE}/depends.static"
}

# libsystemd0: loaded with dlopen for journald sources (logtail/sdj.c), so shlibdeps cannot see it.
DEPENDS="$(shlib_depends)"
case "${DEPENDS}" in *libsystemd0*) ;; *) DEPENDS="${DEPENDS}, libsystemd0 (>= 252)" ;; esac
DEPENDS="${DEPENDS}, passwd, procps"
SIZE="$(du -k -s --exclude=DEBIAN "${STAGE}" | cut -f1)"

cat >"${STAGE}/DEBIAN/control" <<CONTROL
Package: cwagent
Version: ${VERSION}
Architecture: ${ARCH}
Maintainer: cwagent developers <cwagent@example.org>
Installed-Size: ${SIZE}
Depends: ${DEPENDS}
Section: admin
Priority: optional
Description: small, lossless CloudWatch metrics and logs agent
 cwagent samples the host (CPU, memory, disk, network, processes) and tails
 log files, and ships both to Amazon CloudWatch. It reads the JSON
 configuration of Amazon's amazon-cloudwatch-agent and publishes the same
 metric names, units and dimensions, with a fraction of the memory and CPU.
 .
 Metric batches that cannot be sent are kept in a bounded on-disk spool and
 replayed. cwagent-ctl takes the reference ctl's actions (fetch-config from a
 file, SSM Parameter Store or the default; append-config, remove-config,
 start, stop, status).
CONTROL

install -m 0644 "${HERE}/conffiles" "${STAGE}/DEBIAN/conffiles"
for s in postinst prerm postrm; do
    install -m 0755 "${HERE}/${s}" "${STAGE}/DEBIAN/${s}"
done

(cd "${STAGE}" && find . -type f ! -path './DEBIAN/*' | LC_ALL=C sort | sed 's|^\./||' |
    xargs md5sum) >"${STAGE}/DEBIAN/md5sums"
chmod 0644 "${STAGE}/DEBIAN/md5sums" "${STAGE}/DEBIAN/control"

DEB="${OUT}/cwagent_${VERSION}_${ARCH}.deb"
dpkg-deb --build --root-owner-group -Zxz "${STAGE}" "${DEB}" >/dev/null
echo "${DEB}"
