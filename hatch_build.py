"""Hatch build hook: compiles the SIP2 parser's C helpers (``ils_gateway.sip2._speedups``).

With ``$CC`` (else the compiler Python was built with, else ``cc``) and Python's headers,
``src/ils_gateway/sip2/_speedups.c`` becomes ``_speedups<EXT_SUFFIX>``: in place for
an editable install (``pip install -e .``, which imports from ``src``), into the wheel for a
normal build (the wheel is then tagged for this interpreter and platform). Where it cannot be
compiled (no compiler, no headers: the slim Docker image) the build goes on with a warning
and the gateway uses the pure-Python helpers (``ils_gateway.sip2.speedups``), which give the
same results, only slower. ``ILS_GATEWAY_PURE_PYTHON=1`` skips the compilation on purpose.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/ils_gateway/sip2/_speedups.c")
PACKAGE_DIR = "ils_gateway/sip2"


def compile_extension(source: Path, target: Path) -> str | None:
    """Compile ``source`` into the shared library ``target``; the compiler's complaint
    (or why nothing was tried) on failure, None on success."""
    include = sysconfig.get_paths().get("include")
    if not include or not (Path(include) / "Python.h").is_file():
        return f"no Python.h under {include!r}"
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    command = [
        *compiler,
        "-O2",
        "-fPIC",
        "-shared",
        f"-I{include}",
        str(source),
        "-o",
        str(target),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{shlex.join(command)}: {exc}"
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        return f"{shlex.join(command)}: {done.stderr.strip()[-2000:]}"
    return None


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]  # hatchling's generic
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if os.environ.get("ILS_GATEWAY_PURE_PYTHON"):
            self.app.display_info("ILS_GATEWAY_PURE_PYTHON set: SIP2 speedups not compiled")
            return
        root = Path(self.root)
        source = root / SOURCE
        name = "_speedups" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        if version == "editable":
            target = source.parent / name
        else:
            target = Path(tempfile.mkdtemp(prefix="ils-gateway-speedups-")) / name
        failure = compile_extension(source, target)
        if failure is not None:
            self.app.display_warning(
                "SIP2 speedups not compiled (the pure-Python parser will be used): " + failure
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = f"{PACKAGE_DIR}/{name}"
