"""Dependency audit: pip-audit over the installed environment, read back and judged.

    .venv/bin/python .ci/audit.py        (`make audit`; CI runs it)

pip-audit asks PyPI's vulnerability data about each installed package and version. When
that service does not answer (no network, or a PyPI mirror without the per-release JSON
API), pip-audit marks each package "could not be audited" and still says "No known
vulnerabilities found" with exit 0: an audit of nothing that looks like a pass. So this
script counts what was really audited:

- known vulnerabilities not ignored below: exit 1, listed;
- nothing audited at all: a loud AUDIT NOT DONE report; exit 0, so that a build is not
  failed by a service outside the project (exit 1 with SPOOR_REQUIRE_AUDIT=1);
- otherwise: how many packages were audited, and which could not be.

Ignored vulnerabilities live in .ci/audit-ignore.txt, one `ID  reason` a line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IGNORE = HERE / "audit-ignore.txt"
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def ignored() -> dict[str, str]:
    found = {}
    for line in IGNORE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            vuln, _, reason = line.strip().partition(" ")
            found[vuln] = reason.strip()
    return found


def main() -> int:
    skip = ignored()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        args = [str(PIP_AUDIT), "--progress-spinner", "off", "--skip-editable",
                "--format", "json", "--output", str(report)]  # fmt: skip
        for vuln in skip:
            args += ["--ignore-vuln", vuln]
        done = subprocess.run(args, capture_output=True, text=True, timeout=900)
        if not report.exists():
            print(f"pip-audit failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
            return 1
        data = json.loads(report.read_text())
    deps = data.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    unaudited = [d for d in deps if "skip_reason" in d and d["name"] != "spoor"]
    vulnerable = [(d, v) for d in audited for v in d.get("vulns", []) if v["id"] not in skip]
    for dep, vuln in vulnerable:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
        print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} known vulnerabilities; upgrade, or ignore one in "
              f"{IGNORE.relative_to(HERE.parent)} with the reason")  # fmt: skip
        return 1
    if not audited:
        print("=" * 78)
        print(f"AUDIT NOT DONE: the vulnerability service answered for 0 of {len(unaudited)} "
              "installed packages")  # fmt: skip
        reason = unaudited[0]["skip_reason"] if unaudited else "no packages found"
        print(f"  (pip-audit: {reason!r}); the dependencies are NOT known to be safe.")
        print("  Run `make audit` where https://pypi.org/pypi/NAME/VERSION/json answers.")
        print("=" * 78)
        return 1 if os.environ.get("SPOOR_REQUIRE_AUDIT") == "1" else 0
    print(f"pip-audit: {len(audited)} packages audited, no known vulnerabilities"
          f"{f' ({len(skip)} ignored, see .ci/audit-ignore.txt)' if skip else ''}.")  # fmt: skip
    if unaudited:
        names = ", ".join(f"{d['name']} {d['version']}" for d in unaudited)
        print(f"  not audited (not on PyPI): {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
