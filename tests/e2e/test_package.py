"""The Debian package (`make deb`) and `make install`: control fields and dependencies, file list,
modes and owners, conffiles, md5sums; installing it into a throw-away root with
`dpkg --root DIR --force-script-chrootless` (the maintainer scripts honour DPKG_ROOT): the
cwagent system user, the 0700 state directory, the unit; upgrade, remove and purge; lintian and
systemd-analyze verify. Runs as root (dpkg --root needs to chown); skipped otherwise."""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import cwtest
from cwtest import REPO, check, eq

BUILD = os.environ.get("CW_BUILD", os.path.join(REPO, "build"))
_deb = {}


def sh(*cmd, timeout=120, env=None, check_rc=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    if check_rc and r.returncode != 0:
        raise AssertionError("%s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(cmd), r.returncode,
                                                                     r.stdout[-2000:],
                                                                     r.stderr[-2000:]))
    return r


def make_env():
    # Not the parent make's jobserver: this is a separate, sequential make.
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def version():
    with open(os.path.join(REPO, "agent", "version.h")) as f:
        return re.search(r'CWAGENT_VERSION "([^"]+)"', f.read()).group(1)


def arch():
    return sh("dpkg", "--print-architecture").stdout.strip()


def deb():
    """Builds the package once per run (make deb) and returns its path."""
    if "path" not in _deb:
        for tool in ("dpkg-deb", "dpkg"):
            if not shutil.which(tool):
                raise cwtest.Skip("%s is not installed" % tool)
        build = os.path.relpath(BUILD, REPO)
        r = sh("make", "-C", REPO, "--no-print-directory", "BUILD=" + build, "deb", timeout=300,
               env=make_env())
        path = os.path.join(BUILD, "cwagent_%s_%s.deb" % (version(), arch()))
        check(os.path.exists(path), "make deb did not produce %s: %s" % (path, r.stdout[-500:]))
        _deb["path"] = path
    return _deb["path"]


def control_fields(path):
    text = sh("dpkg-deb", "-f", path).stdout
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, val = line.partition(":")
            fields[key] = val.strip()
    return fields


def need_root():
    if os.geteuid() != 0:
        raise cwtest.Skip("installing into a throw-away root needs root (dpkg --root chowns)")


class FakeRoot:
    """An empty root with the files useradd --prefix needs and an empty dpkg database."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="cwt-pkg-")
        os.makedirs(os.path.join(self.dir, "etc"))
        for d in ("updates", "info", "triggers"):
            os.makedirs(os.path.join(self.dir, "var", "lib", "dpkg", d))
        open(os.path.join(self.dir, "var", "lib", "dpkg", "status"), "w").close()
        for name, line in (("passwd", "root:x:0:0:root:/root:/bin/sh"), ("group", "root:x:0:"),
                           ("shadow", "root:*:19000:0:99999:7:::"), ("gshadow", "root:*::")):
            with open(os.path.join(self.dir, "etc", name), "w") as f:
                f.write(line + "\n")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def p(self, rel):
        return os.path.join(self.dir, rel.lstrip("/"))

    def dpkg(self, *args):
        # Dependencies are not in this root's database: --force-depends.
        return sh("dpkg", "--root=" + self.dir, "--force-script-chrootless", "--force-not-root",
                  "--force-depends", "--force-unsafe-io", *args, timeout=120)

    def entry(self, fname, name):
        for line in open(self.p("/etc/" + fname)).read().splitlines():
            if line.split(":")[0] == name:
                return line.split(":")
        return None


# ---- the .deb itself ------------------------------------------------------------------------------

def test_control_fields():
    f = control_fields(deb())
    eq(f["Package"], "cwagent", "Package")
    eq(f["Version"], version(), "Version")
    eq(f["Architecture"], arch(), "Architecture")
    for k in ("Maintainer", "Section", "Priority", "Description", "Installed-Size"):
        check(f.get(k), "control field %s missing" % k)
    check(int(f["Installed-Size"]) > 100, "Installed-Size %r" % f["Installed-Size"])
    deps = [d.strip().split(" ")[0] for d in f["Depends"].split(",")]
    for want in ("libc6", "libcurl4", "libssl3", "libjansson4", "zlib1g", "libpcre2-8-0",
                 "passwd", "procps"):
        check(want in deps, "Depends lacks %s: %s" % (want, f["Depends"]))


def _needed_packages(binary):
    """The Debian packages holding the libraries `binary` links directly (DT_NEEDED, resolved
    with ldd, owner from dpkg -S)."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        sh("readelf", "-d", binary).stdout)
    where = dict(re.findall(r"^\s*(\S+) => (/\S+)", sh("ldd", binary).stdout, re.M))
    pkgs = set()
    for soname in needed:
        check(soname in where, "ldd does not resolve %s" % soname)
        r = sh("dpkg", "-S", where[soname], check_rc=False)
        if r.returncode != 0:
            r = sh("dpkg", "-S", os.path.realpath(where[soname]))
        pkgs.add(r.stdout.split(":")[0])
    return pkgs


def test_static_depends_list_matches_the_binary():
    """packaging/deb/depends.static (used without dpkg-shlibdeps) names every linked library."""
    binary = os.path.join(BUILD, "cwagent")
    with open(os.path.join(REPO, "packaging", "deb", "depends.static")) as f:
        static = {d.strip().split(" ")[0] for d in f.read().split(",") if d.strip()}
    needed = {p for p in _needed_packages(binary) if not p.startswith(("libasan", "libubsan",
                                                                        "libgcc", "libstdc++"))}
    check(needed, "no library package found for %s" % binary)
    missing = needed - static
    eq(sorted(missing), [], "libraries of the binary missing from depends.static")
    # libsystemd0 is loaded with dlopen for journald sources (logtail/sdj.c): not a NEEDED entry
    check("libsystemd0" not in needed, "libsystemd is linked again; it should be loaded on demand")
    eq(sorted(static - needed - {"libc6", "libsystemd0"}), [],
       "depends.static entries the binary does not use")


def test_depends_names_the_dlopened_libsystemd():
    """The package still depends on libsystemd0, which dpkg-shlibdeps cannot see (dlopen)."""
    depends = sh("dpkg-deb", "-f", deb(), "Depends").stdout
    check("libsystemd0" in depends, "Depends lacks libsystemd0: %s" % depends.strip())


def test_file_list_modes_owners_and_conffiles():
    path = deb()
    listing = sh("dpkg-deb", "-c", path).stdout.splitlines()
    files = {}
    for line in listing:
        parts = line.split()
        files[parts[5].lstrip(".")] = (parts[0], parts[1])
    want = {
        "/usr/bin/cwagent": "-rwxr-xr-x", "/usr/bin/cwagent-ctl": "-rwxr-xr-x",
        "/usr/share/man/man1/cwagent.1.gz": "-rw-r--r--",
        "/usr/share/man/man1/cwagent-ctl.1.gz": "-rw-r--r--",
        "/lib/systemd/system/cwagent.service": "-rw-r--r--",
        "/etc/default/cwagent": "-rw-------",
        "/etc/cwagent/common-config.toml": "-rw-r--r--",
        "/etc/cwagent/cwagent.d/": "drwxr-xr-x",
        "/usr/share/doc/cwagent/copyright": "-rw-r--r--",
        "/usr/share/doc/cwagent/changelog.gz": "-rw-r--r--",
        "/usr/share/cwagent/cloudwatch-prices.json": "-rw-r--r--",
        "/usr/share/lintian/overrides/cwagent": "-rw-r--r--",
    }
    for name, mode in want.items():
        check(name in files, "%s not in the package: %s" % (name, sorted(files)))
        eq(files[name][0], mode, "mode of " + name)
    regular = sorted(n for n, (m, _) in files.items() if m.startswith("-"))
    eq(regular, sorted(n for n in want if not n.endswith("/")), "regular files")
    for name, (_, owner) in files.items():
        eq(owner, "root/root", "owner of " + name)
    check(not any(n.startswith("/var/") for n in files), "the state directory is made by postinst")
    d = tempfile.mkdtemp(prefix="cwt-pkgctl-")
    try:
        sh("dpkg-deb", "-e", path, d)
        eq(open(os.path.join(d, "conffiles")).read().split(), ["/etc/default/cwagent",
                                                               "/etc/cwagent/common-config.toml"],
           "conffiles")
        for s in ("postinst", "prerm", "postrm"):
            check(os.access(os.path.join(d, s), os.X_OK), "%s is not executable" % s)
            sh("dash", "-n", os.path.join(d, s))
        x = os.path.join(d, "x")
        sh("dpkg-deb", "-x", path, x)
        sums = {}
        for line in open(os.path.join(d, "md5sums")).read().splitlines():
            h, name = line.split(None, 1)
            sums["/" + name] = h
        eq(sorted(sums), regular, "md5sums covers every file")
        for name, h in sums.items():
            with open(os.path.join(x, name.lstrip("/")), "rb") as f:
                eq(hashlib.md5(f.read()).hexdigest(), h, "md5 of " + name)
        out = sh(os.path.join(x, "usr", "bin", "cwagent"), "version").stdout
        eq(out.strip(), "cwagent " + version(), "packaged binary")
    finally:
        shutil.rmtree(d, ignore_errors=True)


UNIT_MUST = [
    "Type=notify",
    "ExecStart=/usr/bin/cwagent run -c /etc/cwagent/cwagent.d --state-dir /var/lib/cwagent",
    "User=cwagent", "AmbientCapabilities=CAP_DAC_READ_SEARCH",
    "CapabilityBoundingSet=CAP_DAC_READ_SEARCH", "NoNewPrivileges=yes", "ProtectSystem=strict",
    "ProtectHome=read-only", "PrivateTmp=yes", "StateDirectory=cwagent", "StateDirectoryMode=0700",
    "ReadWritePaths=/var/lib/cwagent", "Restart=on-failure", "WantedBy=multi-user.target",
]


# ---- installed into a throw-away root ----------------------------------------------------------------

def test_install_creates_the_user_state_dir_and_unit_then_purge_cleans_up():
    need_root()
    path = deb()
    with FakeRoot() as r:
        r.dpkg("-i", path)
        pw = r.entry("passwd", "cwagent")
        check(pw, "no cwagent user in the root's /etc/passwd")
        uid, gid = int(pw[2]), int(pw[3])
        check(0 < uid < 1000, "system uid expected, got %d" % uid)
        eq((pw[5], pw[6]), ("/var/lib/cwagent", "/usr/sbin/nologin"), "home and shell")
        check(r.entry("group", "cwagent"), "no cwagent group")
        eq(int(r.entry("group", "cwagent")[2]), gid, "group id")
        st = os.stat(r.p("/var/lib/cwagent"))
        eq(oct(st.st_mode & 0o7777), oct(0o700), "state dir mode")
        eq((st.st_uid, st.st_gid), (uid, gid), "state dir owner")
        st = os.stat(r.p("/etc/cwagent/cwagent.d"))
        eq(oct(st.st_mode & 0o7777), oct(0o2750), "config dir mode")
        eq((st.st_uid, st.st_gid), (0, gid), "config dir owner")
        unit = open(r.p("/lib/systemd/system/cwagent.service")).read().splitlines()
        for line in UNIT_MUST:
            check(line in unit, "unit lacks %r" % line)
        check(not any(l.startswith(("Capabilities", "AmbientCapabilities=CAP_SYS")) for l in unit),
              "only CAP_DAC_READ_SEARCH")
        # Reinstalling (an upgrade) keeps one user and the directories.
        with open(r.p("/etc/cwagent/cwagent.d/default"), "w") as f:
            f.write("{}")
        r.dpkg("-i", path)
        eq(sum(1 for l in open(r.p("/etc/passwd")) if l.startswith("cwagent:")), 1, "users")
        check(os.path.exists(r.p("/etc/cwagent/cwagent.d/default")), "config kept on upgrade")
        # Remove keeps conffiles and state; purge removes state and configuration, keeps the user.
        r.dpkg("--remove", "cwagent")
        check(not os.path.exists(r.p("/usr/bin/cwagent")), "binary removed")
        check(os.path.exists(r.p("/etc/default/cwagent")), "conffile kept on remove")
        check(os.path.isdir(r.p("/var/lib/cwagent")), "state kept on remove")
        r.dpkg("--purge", "cwagent")
        for gone in ("/etc/default/cwagent", "/var/lib/cwagent", "/etc/cwagent"):
            check(not os.path.exists(r.p(gone)), "%s left after purge" % gone)
        check(r.entry("passwd", "cwagent"), "the system user is kept after purge")


def test_systemd_analyze_verify():
    need_root()
    if not shutil.which("systemd-analyze"):
        raise cwtest.Skip("systemd-analyze is not installed (CI: apt-get install systemd)")
    path = deb()
    with FakeRoot() as r:
        r.dpkg("-i", path)
        # The units the service refers to (targets, slices) and /bin/kill (procps, a dependency)
        # come from the host; the man pages from the package (Documentation=man:...).
        unitdir = r.p("/lib/systemd/system")
        for u in glob.glob("/lib/systemd/system/*.target") + glob.glob("/lib/systemd/system/*.slice"):
            if os.path.isfile(u):
                shutil.copy(u, unitdir)
        os.makedirs(r.p("/bin"), exist_ok=True)
        shutil.copy(shutil.which("kill") or "/bin/kill", r.p("/bin/kill"))
        env = dict(os.environ, MANPATH=r.p("/usr/share/man"), SYSTEMD_LOG_LEVEL="notice")
        res = sh("systemd-analyze", "verify", "--root=" + r.dir, "cwagent.service", env=env,
                 check_rc=False, timeout=60)
        eq(res.returncode, 0, "systemd-analyze verify (stderr %r)" % res.stderr)
        eq(res.stderr.strip(), "", "systemd-analyze verify output")
        # The source unit on its own (no root): only the binary may be missing here.
        res = sh("systemd-analyze", "verify", "--man=no",
                 os.path.join(REPO, "packaging", "cwagent.service"), check_rc=False, timeout=60)
        bad = [l for l in res.stderr.splitlines()
               if l.strip() and "/usr/bin/cwagent is not executable" not in l]
        eq(bad, [], "systemd-analyze verify packaging/cwagent.service")


def test_lintian_is_clean():
    if not shutil.which("lintian"):
        raise cwtest.Skip("lintian is not installed (CI: apt-get install lintian)")
    res = sh("lintian", "--pedantic", "--no-tag-display-limit", deb(), check_rc=False,
             timeout=300)
    tags = [l for l in res.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
    eq(tags, [], "lintian tags")
    eq(res.returncode, 0, "lintian exit status")


def test_make_install_honours_prefix_and_destdir():
    d = tempfile.mkdtemp(prefix="cwt-inst-")
    try:
        build = os.path.relpath(BUILD, REPO)
        sh("make", "-C", REPO, "--no-print-directory", "BUILD=" + build, "install", "DESTDIR=" + d,
           "PREFIX=/usr/local", timeout=300, env=make_env())
        for rel in ("usr/local/bin/cwagent", "usr/local/bin/cwagent-ctl"):
            check(os.access(os.path.join(d, rel), os.X_OK), rel + " not executable")
        for rel in ("usr/local/share/man/man1/cwagent.1.gz", "usr/local/share/man/man1/cwagent-ctl.1.gz",
                    "etc/default/cwagent"):
            check(os.path.isfile(os.path.join(d, rel)), rel + " missing")
        check(os.path.isdir(os.path.join(d, "etc/cwagent/cwagent.d")), "config dir missing")
        eq(oct(os.stat(os.path.join(d, "var/lib/cwagent")).st_mode & 0o777), oct(0o700), "state dir")
        unit = open(os.path.join(d, "lib/systemd/system/cwagent.service")).read()
        check("ExecStart=/usr/local/bin/cwagent run " in unit, "unit ExecStart follows PREFIX")
        ctl = open(os.path.join(d, "usr/local/bin/cwagent-ctl")).read()
        check('CWAGENT_BIN:-/usr/local/bin/cwagent}' in ctl, "ctl binary path follows PREFIX")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_man_pages_render_without_warnings():
    if not shutil.which("man"):
        raise cwtest.Skip("man is not installed")
    for page in ("cwagent.1", "cwagent-ctl.1"):
        res = sh("man", "--warnings", "-l", os.path.join(REPO, "packaging", "man", page),
                 env=dict(os.environ, MANWIDTH="80"), timeout=60)
        eq(res.stderr.strip(), "", "man warnings for " + page)
        check("EXIT STATUS" in res.stdout, page + " lacks EXIT STATUS")
    res = sh("man", "-l", os.path.join(REPO, "packaging", "man", "cwagent.1"), timeout=60,
             env=dict(os.environ, MANWIDTH="80"))
    for section in ("COMMANDS", "FILES", "SIGNALS", "ENVIRONMENT"):
        check(section in res.stdout, "cwagent.1 lacks " + section)


cwtest.main(globals())
