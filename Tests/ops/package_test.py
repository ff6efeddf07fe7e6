#!/usr/bin/env python3
"""Installs the Stadium .deb into a scratch root with dpkg and runs what it installed.

Checks, in a temporary root (dpkg --root, maintainer scripts outside a chroot; nothing on the
host changes):
  - the package installs, lists the four executables, the web root with the dashboard, the
    systemd units with their environment files, the tuning scripts, the Prometheus
    configuration and the Grafana dashboard, and purges without leaving a file behind;
  - each executable runs from there: --version prints the package's version, --help works;
  - the installed gateway, given a --config file, serves the web root it names (/dashboard) and
    /metrics, logs JSON as it says, and takes --listen from the command line over the file's;
  - the installed tuning/check.sh runs; the options the environment files and the settings
    files they pass with --config set are the executables' own;
  - the units: Restart=on-failure, LimitNOFILE, a stop timeout longer than the gateway's drain,
    ExecReload (kill -HUP) exactly when the gateway survives SIGHUP, which it must (TLS reload), LimitMEMLOCK=infinity for the gateway;
    `systemd-analyze verify` accepts them (skipped, saying so, where systemd-analyze is missing);
  - without CAP_IPC_LOCK and with the default 8 MiB of locked memory, the installed gateway
    sized for a million connections says what to raise instead of only failing;
  - a release package needs no Swift toolchain (no libswift* among its executables' libraries);
    a debug package (make deb BUILD=debug) uses the toolchain's runtime, so that check is skipped.

    python3 Tests/ops/package_test.py --deb .build-deb/stadium_0.1.0~debug_amd64.deb
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Failure as TestFailure  # noqa: E402  the tests' shared helpers

EXECUTABLES = ["stadium-gateway", "stadium-kafka", "stadium-processors", "stadium-load"]
EXPECTED_FILES = [
    *(f"/usr/bin/{name}" for name in EXECUTABLES),
    "/usr/share/stadium/web/index.html",
    "/usr/share/stadium/web/dashboard.html",
    "/usr/share/stadium/web/dashboard.js",
    "/usr/share/stadium/questions.json",
    "/usr/share/stadium/tuning/check.sh",
    "/usr/share/stadium/tuning/apply.sh",
    "/usr/share/stadium/tuning/revert.sh",
    "/usr/share/stadium/tuning/sysctl.conf",
    "/usr/share/stadium/prometheus.yml",
    "/usr/share/stadium/grafana-dashboard.json",
    "/lib/systemd/system/stadium-gateway.service",
    "/lib/systemd/system/stadium-processors.service",
    "/etc/stadium/stadium-gateway.env",
    "/etc/stadium/stadium-processors.env",
    "/etc/stadium/stadium-gateway.conf",
    "/etc/stadium/stadium-processors.conf",
]
# The gateway's drain on SIGTERM: --ack-timeout (10 s) for Kafka, then up to 5 s to close connections.
GATEWAY_DRAIN_SECONDS = 15


def run(command, **options):
    options.setdefault("timeout", 60)
    return subprocess.run(command, capture_output=True, text=True, **options)


def checked(command, **options):
    result = run(command, **options)
    if result.returncode != 0:
        raise TestFailure(f"{shlex.join(command)} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return result.stdout


class ScratchRoot:
    """A temporary root with an empty dpkg database of its own."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="stadium-deb-root-")
        admin = os.path.join(self.path, "var", "lib", "dpkg")
        for directory in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, directory))
        open(os.path.join(admin, "status"), "w").close()

    def dpkg(self, *arguments):
        # The scratch database knows no libraries, so Depends are checked against the host instead.
        return checked(["dpkg", f"--root={self.path}", "--force-not-root", "--force-script-chrootless",
                        "--force-depends", *arguments], timeout=120)

    def file(self, path):
        return os.path.join(self.path, path.lstrip("/"))

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def check_control(deb):
    fields = {}
    for name in ("Package", "Version", "Depends"):
        fields[name] = checked(["dpkg-deb", "--field", deb, name]).strip()
    if fields["Package"] != "stadium":
        raise TestFailure(f"package is named {fields['Package']!r}, expected stadium")
    # The host must be able to satisfy what the package depends on (Debian's own names).
    for dependency in fields["Depends"].split(","):
        name = dependency.strip().split()[0]
        status = run(["dpkg-query", "-W", "-f=${Status}", name]).stdout
        if "install ok installed" not in status:
            raise TestFailure(f"the package depends on {name}, which is not installed here: is the name right?")
    return fields


def check_installed_files(root):
    listed = set(root.dpkg("--listfiles", "stadium").split())
    missing = [path for path in EXPECTED_FILES if path not in listed or not os.path.exists(root.file(path))]
    if missing:
        raise TestFailure(f"the installed package lacks: {missing}")
    conffiles = root.dpkg("--status", "stadium")
    for path in EXPECTED_FILES:
        if path.startswith("/etc/") and path not in conffiles:
            raise TestFailure(f"{path} is not a conffile: an upgrade would overwrite the administrator's settings")


def check_executables(root, version):
    for name in EXECUTABLES:
        binary = root.file(f"/usr/bin/{name}")
        printed = checked([binary, "--version"]).strip()
        if printed != version:
            raise TestFailure(f"{name} --version printed {printed!r}, the package's version is {version!r}")
        usage = checked([binary, "--help"])
        if "USAGE:" not in usage or "--version" not in usage:
            raise TestFailure(f"{name} --help printed no usage with --version: {usage[:300]!r}")


def start_gateway(root, before=(), stderr=subprocess.DEVNULL):
    process = subprocess.Popen(
        [root.file("/usr/bin/stadium-gateway"), *before, "--listen", "127.0.0.1:0", "--io-threads", "1"],
        stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True)
    line = process.stdout.readline()
    match = re.search(r"listening on ws://[\d.]+:(\d+)/", line)
    if not match:
        process.kill()
        process.wait()
        raise TestFailure(f"the installed stadium-gateway printed {line!r} instead of its listening line")
    return process, int(match.group(1))


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=GATEWAY_DRAIN_SECONDS + 5)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def check_gateway_serves_package(root):
    """The installed gateway with a --config file: the file's web root and JSON logs, the flag's --listen."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as config:
        config.write(f"# a listen the command line must override\nlisten = not-an-address\n"
                     f"web-root = {root.file('/usr/share/stadium/web')}\nlog-format = json\n")
    log = tempfile.TemporaryFile("w+")
    try:
        process, port = start_gateway(root, ["--config", config.name], stderr=log)
        try:
            for path, needle in (("/dashboard", b"dashboard.js"), ("/metrics", b"stadium_connections")):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                    body = response.read()
                if response.status != 200 or needle not in body:
                    raise TestFailure(f"the installed gateway's {path} answered {response.status} without {needle!r}")
        finally:
            status = stop(process)
        if status != 0:
            raise TestFailure(f"the installed gateway exited {status} on SIGTERM, expected 0")
        log.seek(0)
        lines = [line for line in log.read().splitlines() if line.strip()]
        try:
            records = [json.loads(line) for line in lines]
        except ValueError:
            raise TestFailure(f"with log-format = json the gateway logged lines that are not JSON: {lines[:3]}") from None
        if not any(record.get("message") == "listening" and record.get("level") == "info" for record in records):
            raise TestFailure(f"no JSON record of the gateway listening among {records[:5]}")
    finally:
        os.unlink(config.name)
        log.close()


def gateway_survives_sighup(root):
    process, _ = start_gateway(root)
    try:
        process.send_signal(signal.SIGHUP)
        try:
            process.wait(timeout=2)
            return False
        except subprocess.TimeoutExpired:
            return True
    finally:
        stop(process)


def check_ring_memory_limit(root):
    """Without CAP_IPC_LOCK the rings' memory counts against RLIMIT_MEMLOCK (8 MiB by default),
    which a million connections outgrow: the gateway must say so, and its unit must lift it."""
    setpriv, prlimit = shutil.which("setpriv"), shutil.which("prlimit")
    if not setpriv or not prlimit:
        return "SKIP locked-memory check: setpriv or prlimit is not installed here"
    command = [prlimit, "--memlock=8388608", setpriv, "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock",
               root.file("/usr/bin/stadium-gateway"), "--listen", "127.0.0.1:0", "--max-connections", "1000000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    first = process.stdout.readline()
    if "listening on" in first:
        stop(process)
        return "this kernel does not count ring memory against RLIMIT_MEMLOCK: the gateway started at 8 MiB"
    output = first + process.stdout.read()
    process.wait(timeout=30)
    if process.returncode == 0 or "LimitMEMLOCK=infinity" not in output:
        raise TestFailure(f"out of locked memory, the gateway exited {process.returncode} without saying how to "
                          f"raise the limit: {output[-600:]!r}")
    return "out of locked memory the gateway names RLIMIT_MEMLOCK and LimitMEMLOCK=infinity"


def unit_settings(path):
    settings = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                key, value = line.split("=", 1)
                settings.setdefault(key, []).append(value)
    return settings


def seconds_of(text):
    match = re.fullmatch(r"(\d+)\s*(s|min)?", text)
    if not match:
        raise TestFailure(f"cannot read the duration {text!r}")
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


def env_arguments(root, env_file, variable):
    with open(root.file(env_file)) as handle:
        for line in handle:
            if line.startswith(variable + "="):
                # As systemd does: the quotes go, then an unbraced $VARIABLE splits at whitespace.
                return " ".join(shlex.split(line.split("=", 1)[1])).split()
    raise TestFailure(f"{env_file} sets no {variable}")


def settings_file_options(root, path):
    """The option names a --config file sets, as flags."""
    options = []
    with open(root.file(path)) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                options.append("--" + line.split("=", 1)[0].strip())
    return options


def check_units(root):
    notes = []
    survives_hup = gateway_survives_sighup(root)
    for name, variable in (("stadium-gateway", "STADIUM_GATEWAY_ARGS"), ("stadium-processors", "STADIUM_PROCESSORS_ARGS")):
        unit = root.file(f"/lib/systemd/system/{name}.service")
        settings = unit_settings(unit)
        for key, wanted in (("Restart", "on-failure"), ("Type", "simple")):
            if settings.get(key) != [wanted]:
                raise TestFailure(f"{name}.service: {key}={settings.get(key)}, expected {wanted}")
        if "LimitNOFILE" not in settings:
            raise TestFailure(f"{name}.service sets no LimitNOFILE")
        if seconds_of(settings.get("TimeoutStopSec", ["90s"])[0]) <= GATEWAY_DRAIN_SECONDS:
            raise TestFailure(f"{name}.service: TimeoutStopSec must exceed the {GATEWAY_DRAIN_SECONDS} s drain")
        exec_start = settings["ExecStart"][0]
        if f"${variable}" not in exec_start or f"/usr/bin/{name}" not in exec_start:
            raise TestFailure(f"{name}.service: ExecStart {exec_start!r} does not run /usr/bin/{name} ${variable}")
        env_file = settings["EnvironmentFile"][0].lstrip("-")
        # Every flag the environment file and its --config file set must be one the executable knows.
        usage = checked([root.file(f"/usr/bin/{name}"), "--help"])
        arguments = env_arguments(root, env_file, variable)
        settings_files = [arguments[i + 1] for i, argument in enumerate(arguments[:-1]) if argument == "--config"]
        if not settings_files:
            raise TestFailure(f"{env_file} passes no --config file: the unit's settings would live nowhere")
        for source, options in [(env_file, arguments)] + [(path, settings_file_options(root, path)) for path in settings_files]:
            for option in options:
                if option.startswith("--") and not re.search(re.escape(option) + r"(?![\w-])", usage):
                    raise TestFailure(f"{source}: {name} has no option {option}")
        if name == "stadium-gateway":
            if settings.get("LimitMEMLOCK") != ["infinity"]:
                raise TestFailure("stadium-gateway.service must set LimitMEMLOCK=infinity: the rings of a million "
                                  "connections outgrow the default 8 MiB of locked memory")
            # SIGHUP reloads the TLS certificates: the gateway lives on and the unit's reload sends it.
            if not survives_hup:
                raise TestFailure("stadium-gateway is ended by SIGHUP: it should reload its TLS certificates instead")
            if settings.get("ExecReload") != ["/bin/kill -HUP $MAINPID"]:
                raise TestFailure(f"stadium-gateway.service: ExecReload={settings.get('ExecReload')}, "
                                  "expected /bin/kill -HUP $MAINPID (the gateway reloads its certificates on SIGHUP)")
            if ("ExecReload" in settings) != survives_hup:
                raise TestFailure(
                    "stadium-gateway " + ("survives" if survives_hup else "is ended by") + " SIGHUP but its unit "
                    + ("has no" if survives_hup else "has an") + " ExecReload")
            if "systemd-sysctl.service" not in " ".join(settings.get("After", [])):
                raise TestFailure("stadium-gateway.service does not start after systemd-sysctl.service (the tuning drop-in)")
    notes.append("stadium-gateway is ended by SIGHUP, so its unit has no ExecReload" if not survives_hup
                 else "stadium-gateway survives SIGHUP and its unit reloads with it")
    notes.append(verify_units(root))
    return notes


def verify_units(root):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return "SKIP systemd-analyze verify: systemd-analyze is not installed here"
    # The units name absolute paths; verify them as installed, so inside the scratch root.
    with tempfile.TemporaryDirectory(prefix="stadium-units-") as directory:
        units = []
        for name in ("stadium-gateway.service", "stadium-processors.service"):
            with open(root.file(f"/lib/systemd/system/{name}")) as handle:
                text = handle.read()
            for prefix in ("/usr/bin/", "/usr/share/stadium", "/etc/stadium/"):
                text = text.replace(prefix, root.file(prefix) + ("/" if prefix.endswith("/") else ""))
            units.append(os.path.join(directory, name))
            with open(units[-1], "w") as handle:
                handle.write(text)
        result = run([analyze, "verify", *units])
        complaints = (result.stdout + result.stderr).strip()
        if result.returncode != 0 or complaints:
            raise TestFailure(f"systemd-analyze verify exited {result.returncode}: {complaints}")
    return "systemd-analyze verify accepts both units"


def check_tuning_check_runs(root):
    result = run([root.file("/usr/share/stadium/tuning/check.sh"), "--connections", "1000"])
    # 0: the host is ready, 1: something falls short; anything else means the script itself failed.
    if result.returncode not in (0, 1) or "nofile" not in result.stdout + result.stderr:
        raise TestFailure(f"the installed tuning/check.sh exited {result.returncode}: {result.stderr[-500:]}")


def check_runtime_dependencies(root, debug):
    if debug:
        return "SKIP no-toolchain check: a debug package's executables use the toolchain's Swift runtime"
    for name in EXECUTABLES:
        libraries = checked(["ldd", root.file(f"/usr/bin/{name}")])
        swift = [line.split()[0] for line in libraries.splitlines() if "libswift" in line or "libFoundation" in line]
        if swift:
            raise TestFailure(f"{name} needs the Swift toolchain's {swift}: link the runtime in (--static-swift-stdlib)")
        if "not found" in libraries:
            raise TestFailure(f"{name} needs libraries this host lacks: {libraries}")
    return "the executables need no Swift toolchain"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", required=True, help="the package, from make deb")
    arguments = parser.parse_args()
    root = ScratchRoot()
    try:
        fields = check_control(arguments.deb)
        debug = fields["Version"].endswith("~debug")
        version = fields["Version"].removesuffix("~debug")
        root.dpkg("--install", arguments.deb)
        check_installed_files(root)
        check_executables(root, version)
        check_gateway_serves_package(root)
        check_tuning_check_runs(root)
        notes = check_units(root)
        notes.append(check_ring_memory_limit(root))
        notes.append(check_runtime_dependencies(root, debug))
        root.dpkg("--purge", "stadium")
        left = [path for path in EXPECTED_FILES if os.path.exists(root.file(path))]
        if left:
            raise TestFailure(f"dpkg --purge left {left}")
    except (TestFailure, subprocess.TimeoutExpired) as failure:
        print(f"FAIL package_test: {failure}", file=sys.stderr)
        return 1
    finally:
        root.remove()
    for note in notes:
        print(f"package_test: {note}")
    print(f"PASS package_test: {arguments.deb} installed into a scratch root, ran, purged"
          + (" (debug build: make deb BUILD=debug)" if debug else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
