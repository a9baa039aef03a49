"""The deployment files (Dockerfile, docker-compose.yml, deploy/) name real commands, options and
settings, and have the shape docs/deploy.md promises (issue 17).

- Dockerfile: read instruction by instruction (no hadolint here): two stages, the runtime one
  copying a built environment and running as a non-root numeric user, no test extra installed,
  a HEALTHCHECK on /healthz without curl, its entrypoint a valid ``serve`` invocation. The image
  itself is built and started by tests/test_packaging.py where a container engine works.
- docker-compose.yml: loaded as YAML; every service has a healthcheck (but the one-shot
  migration), every ``depends_on`` names a service, the gateway and simulator commands are
  valid ``ils-gateway`` invocations, the environment names only settings the gateway reads, and
  deploy/compose/tenants.toml loads and points at the simulator services as they are started.
- deploy/k8s: every manifest validates against the Kubernetes JSON schemas that the PyPI package
  ``kubernetes-validate`` ships (offline, strict: unknown fields fail), and the Deployment's
  probes, secrets, security context and selectors fit together.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from ils_gateway.cli import main
from ils_gateway.runtime.server_settings import ENV_PREFIX, ServerSettings
from ils_gateway.store.location import SECRET_ENV
from ils_gateway.tenants.backends import KohaBackend, Sip2Backend
from ils_gateway.tenants.loader import load_tenants, parse_tenants

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30"  # the oldest Kubernetes release the manifests are checked against

# ---------------------------------------------------------------------------------------------
# What the CLI offers


def _subcommands(group: click.Group) -> dict[str, click.Command]:
    load_all = getattr(group, "load_all", None)  # the CLI's lazy groups
    return dict(load_all()) if load_all is not None else dict(group.commands)


def _commands(group: click.Command = main) -> Iterator[click.Command]:
    yield group
    if isinstance(group, click.Group):
        for command in _subcommands(group).values():
            yield from _commands(command)


def known_env_names() -> set[str]:
    """Every ``ILS_GATEWAY_*`` variable the gateway reads: the server settings' (one per
    field of ``ServerSettings``, plus the settings file's), the options' ``envvar`` of every
    command, and the store secret (read by ``ils_gateway.store.location``)."""
    names = {SECRET_ENV, f"{ENV_PREFIX}SETTINGS"}
    names |= {f"{ENV_PREFIX}{field.upper()}" for field in ServerSettings.model_fields}
    for command in _commands():
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            for name in [envvar] if isinstance(envvar, str) else envvar or ():
                if name.startswith("ILS_GATEWAY_"):
                    names.add(name)
    return names


def assert_cli_accepts(args: list[str]) -> None:
    """``ils-gateway ARGS`` parses (checked with ``--help`` appended: nothing starts)."""
    assert args and args[0] == "ils-gateway", args
    result = CliRunner().invoke(main, [*args[1:], "--help"])
    assert result.exit_code == 0, f"{shlex.join(args)}: {result.output}"
    # --help stops at the first unknown option only if it comes first: check each option too.
    command: click.Command = main
    rest = list(args[1:])
    while isinstance(command, click.Group) and rest and rest[0] in _subcommands(command):
        command = _subcommands(command)[rest.pop(0)]
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for arg in rest:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in options, f"{shlex.join(args)}: unknown {arg}"


# ---------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), by stage."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    stages: list[list[tuple[str, str]]] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest.strip()))
    return stages


def _exec_form(value: str) -> list[str]:
    args = yaml.safe_load(value)
    assert isinstance(args, list), f"not the exec (JSON) form: {value}"
    return [str(arg) for arg in args]


def test_dockerfile_is_multi_stage_and_the_runtime_stage_copies_a_built_environment() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    build_name = stages[0][0][1].split()[-1]
    assert " AS " in stages[0][0][1].upper()
    runtime = stages[-1]
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert any(rest.startswith(f"--from={build_name} ") for rest in copies), copies
    # The runtime stage installs nothing from the index and never sees the source tree.
    runs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert "pip install" not in runs
    assert not any(" src" in rest or rest.startswith("src") for rest in copies), copies
    base = stages[0][0][1].split()[0]
    assert base == "${PYTHON_IMAGE}" == stages[-1][0][1].split()[0]
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.\d+-slim", text)


def test_dockerfile_installs_no_extras() -> None:
    for stage in dockerfile_stages():
        for keyword, rest in stage:
            if keyword == "RUN" and "pip" in rest:
                assert "[" not in rest, f"an extra is installed: {rest}"
                assert not re.search(r"\b(pytest|hypothesis|schemathesis|mypy|ruff)\b", rest)
                installs = re.findall(r"pip install ([^&]+)", rest)
                assert all(target.strip().endswith(".whl") for target in installs), installs


def test_dockerfile_runs_as_a_non_root_numeric_user() -> None:
    runtime = dockerfile_stages()[-1]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) > 0, users[-1]  # numeric: Kubernetes' runAsNonRoot
    # and after USER nothing runs as root again
    last = max(i for i, (keyword, _) in enumerate(runtime) if keyword == "USER")
    assert not [rest for keyword, rest in runtime[last:] if keyword == "RUN"]


def test_dockerfile_entrypoint_serves_on_all_interfaces_on_the_exposed_port() -> None:
    runtime = dict(dockerfile_stages()[-1])
    entrypoint = _exec_form(runtime["ENTRYPOINT"])
    assert entrypoint[:4] == ["ils-gateway", "serve", "--host", "0.0.0.0"]
    assert_cli_accepts(entrypoint)
    port = entrypoint[entrypoint.index("--port") + 1]
    assert runtime["EXPOSE"].split() == [port]
    assert "CMD" not in runtime  # arguments of `docker run` go to serve
    volume = _exec_form(runtime["VOLUME"])
    assert volume == [f"{runtime['WORKDIR']}/var"]  # ./var: the default SQLite store and secret


def test_dockerfile_healthcheck_asks_healthz_with_python() -> None:
    runtime = dict(dockerfile_stages()[-1])
    check = runtime["HEALTHCHECK"]
    command = _exec_form(check.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8080/healthz" in command[2]
    assert "curl" not in check and "wget" not in check
    compile(command[2], "HEALTHCHECK", "exec")


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"  # an allow-list: .venv, var/, .git and caches never go in
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for keyword, rest in dockerfile_stages()[0]:
        if keyword == "COPY" and not rest.startswith("--from"):
            copied |= {src.rstrip("/") for src in rest.split()[:-1]}
    assert copied == allowed


# ---------------------------------------------------------------------------------------------
# docker-compose.yml


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    assert isinstance(services, dict)
    return services


def _gateways() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services().items() if name.startswith("gateway")}


def _image_entrypoint() -> list[str]:
    return _exec_form(dict(dockerfile_stages()[-1])["ENTRYPOINT"])


def test_compose_has_the_production_shape() -> None:
    services = _services()
    assert len(_gateways()) == 2
    for needed in ("lb", "postgres", "redis", "sip2", "elibrary", "mailpit", "migrate"):
        assert needed in services, needed
    assert {"koha", "folio"} & set(services)
    assert services["lb"]["image"].startswith(("nginx:", "haproxy:"))
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_compose_every_service_is_health_checked_and_depends_on_real_services() -> None:
    services = _services()
    for name, service in services.items():
        if name != "migrate":  # one-shot: the others wait for it to complete
            test = service.get("healthcheck", {}).get("test")
            assert test and test[0] in ("CMD", "CMD-SHELL"), name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            wanted = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition == {"condition": wanted}, (name, dependency)
    for name, gateway in _gateways().items():
        assert {"migrate", "redis", "sip2", "elibrary"} <= set(gateway["depends_on"]), name
    assert set(services["lb"]["depends_on"]) == set(_gateways())
    assert set(services["migrate"]["depends_on"]) == {"postgres"}


def test_compose_commands_are_valid_ils_gateway_invocations() -> None:
    services = _services()
    for name, service in services.items():
        if service.get("image") != "ils-gateway:local":
            continue
        assert service.get("build") == ".", name
        entrypoint = service.get("entrypoint", _image_entrypoint())
        assert_cli_accepts([*entrypoint, *service.get("command", [])])
    for gateway in _gateways().values():
        assert "entrypoint" not in gateway  # the image's: serve --host 0.0.0.0 --port 8080


def test_compose_sets_only_settings_the_gateway_reads() -> None:
    known = known_env_names()
    for name, service in _services().items():
        if service.get("image") == "ils-gateway:local":
            assert set(service.get("environment", {})) <= known, name
    for gateway in _gateways().values():
        env = gateway["environment"]
        assert env["ILS_GATEWAY_STORE_URL"].startswith(
            "postgresql+asyncpg://gateway:gateway@postgres:"
        )
        assert env["ILS_GATEWAY_REDIS_URL"].startswith("redis://redis:")
        # The shared secret comes from the environment of `docker compose`, and is required.
        assert re.fullmatch(r"\$\{ILS_GATEWAY_STORE_SECRET:\?.+\}", env[SECRET_ENV])


def test_compose_load_balancer_reaches_both_replicas_and_is_the_trusted_proxy() -> None:
    services = _services()
    lb = services["lb"]
    conf = (ROOT / "deploy" / "compose" / "nginx.conf").read_text(encoding="utf-8")
    mounts = {volume.split(":")[0] for volume in lb["volumes"]}
    assert "./deploy/compose/nginx.conf" in mounts
    for name in _gateways():
        assert f"server {name}:8080 " in conf, name
    published = lb["ports"][0].split(":")[-1]
    assert f"listen {published};" in conf
    address = lb["networks"]["backend"]["ipv4_address"]
    for gateway in _gateways().values():
        assert gateway["environment"]["ILS_GATEWAY_TRUSTED_PROXIES"] == address
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "non_idempotent" not in conf  # a POST that reached a replica is never sent twice


def _option(command: list[str], name: str) -> str:
    for arg in command:
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not in {command}")


def test_compose_tenant_file_loads_and_points_at_the_simulators() -> None:
    services = _services()
    for gateway in _gateways().values():
        assert (
            "./deploy/compose/tenants.toml:/etc/ils-gateway/tenants.toml:ro" in gateway["volumes"]
        )
        assert gateway["command"] == ["--config=/etc/ils-gateway/tenants.toml"]
    registry = load_tenants(ROOT / "deploy" / "compose" / "tenants.toml")
    kinds = set()
    for tenant in registry:
        backend = tenant.backend
        if isinstance(backend, Sip2Backend):
            sim = services[backend.host]
            assert sim["entrypoint"][-2:] == ["simulate", "sip2"]
            assert int(_option(sim["command"], "--port")) == backend.port
            password = backend.login_password.get_secret_value() if backend.login_password else ""
            assert _option(sim["command"], "--login") == f"{backend.login_user}:{password}"
        elif isinstance(backend, KohaBackend):
            host, port = backend.base_url.removeprefix("http://").split(":")
            sim = services[host]
            assert sim["entrypoint"][-2:] == ["simulate", "koha"]
            assert int(_option(sim["command"], "--port")) == int(port)
        else:
            raise AssertionError(f"{tenant.id}: no simulator for {backend.kind}")
        kinds.add(backend.kind)
        if tenant.elibrary is not None and tenant.elibrary.kind == "kinoden":
            host, port = tenant.elibrary.base_url.removeprefix("http://").split(":")
            sim = services[host]
            assert sim["entrypoint"][-2:] == ["simulate", "elibrary"]
            assert int(_option(sim["command"], "--port")) == int(port)
            kinds.add("elibrary")
    assert {"sip2", "koha", "elibrary"} <= kinds


# ---------------------------------------------------------------------------------------------
# Kubernetes manifests


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((path.name, doc))
    return docs


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


@pytest.mark.parametrize(
    ("name", "doc"), k8s_documents(), ids=[f"{n}:{d['kind']}" for n, d in k8s_documents()]
)
def test_k8s_manifest_validates_against_the_kubernetes_schema(
    name: str, doc: dict[str, Any]
) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_k8s_schema_check_catches_a_misspelt_field() -> None:
    """The validator is not a no-op: a typo in a probe is refused."""
    deployment = _by_kind("Deployment")[0]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pth"] = "/x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_k8s_has_every_kind_and_kustomize_applies_all_but_the_secret_example() -> None:
    kinds = {doc["kind"] for _, doc in k8s_documents()}
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "Secret",
    } <= kinds
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    # The CronJobs are opt-in (with `serve --no-jobs` in the Deployment; docs/jobs.md).
    assert set(kustomization["resources"]) == files - {"secret.example.yaml", "cronjobs.yaml"}


def _pod() -> dict[str, Any]:
    (deployment,) = _by_kind("Deployment")
    pod: dict[str, Any] = deployment["spec"]["template"]
    return pod


def test_k8s_deployment_probes_resources_and_security() -> None:
    pod = _pod()
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    runtime = dict(dockerfile_stages()[-1])
    assert str(spec["securityContext"]["runAsUser"]) == runtime["USER"].split(":")[0]
    tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    for container in [*spec["initContainers"], *spec["containers"]]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts.get("/tmp") in tmp_volumes, container["name"]
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"]
        assert resources["limits"]["memory"]
    (gateway,) = spec["containers"]
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert gateway[probe]["httpGet"]["port"] in ports
    entrypoint = _image_entrypoint()
    assert ports["http"] == int(entrypoint[entrypoint.index("--port") + 1])
    assert_cli_accepts([*entrypoint, *gateway["args"]])
    (init,) = spec["initContainers"]
    assert_cli_accepts(init["command"])


def test_k8s_settings_come_from_secret_references_and_known_names() -> None:
    spec = _pod()["spec"]
    (secret,) = _by_kind("Secret")
    settings = next(c for c in _by_kind("ConfigMap") if c["metadata"]["name"].endswith("settings"))
    known = known_env_names()
    for container in [*spec["initContainers"], *spec["containers"]]:
        for env in container.get("env", []):
            assert env["name"] in known, env["name"]
            ref = env["valueFrom"]["secretKeyRef"]  # no credential inline
            assert ref["name"] == secret["metadata"]["name"]
            assert ref["key"] in secret["stringData"]
        for source in container.get("envFrom", []):
            assert source["configMapRef"]["name"] == settings["metadata"]["name"]
            assert set(settings["data"]) <= known
    (gateway,) = spec["containers"]
    names = {env["name"] for env in gateway["env"]}
    assert {"ILS_GATEWAY_STORE_URL", SECRET_ENV, "ILS_GATEWAY_REDIS_URL"} <= names


def test_k8s_tenant_file_loads_and_is_mounted_where_serve_reads_it() -> None:
    spec = _pod()["spec"]
    tenants = next(c for c in _by_kind("ConfigMap") if c["metadata"]["name"].endswith("tenants"))
    registry = parse_tenants(tenants["data"]["tenants.toml"], "deploy/k8s/configmap.yaml")
    assert len(list(registry)) >= 1
    volume = next(v for v in spec["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == tenants["metadata"]["name"]
    (gateway,) = spec["containers"]
    mount = next(m for m in gateway["volumeMounts"] if m["name"] == volume["name"])
    config = _option(gateway["args"], "--config")
    assert config == f"{mount['mountPath']}/tenants.toml"


def test_k8s_cronjobs_run_every_registered_job_with_the_gateways_settings() -> None:
    from ils_gateway.jobs.registry import JOBS

    cronjobs = _by_kind("CronJob")
    names = []
    known = known_env_names()
    (secret,) = _by_kind("Secret")
    for cronjob in cronjobs:
        spec = cronjob["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["timeZone"] == "Asia/Tokyo"
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        command = container["command"]
        assert command[:3] == ["ils-gateway", "jobs", "run"]
        assert_cli_accepts(command)
        names.append(command[3])
        assert cronjob["metadata"]["annotations"]["ils-gateway.dev/job"] == command[3]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        for env in container["env"]:
            assert env["name"] in known
            assert env["valueFrom"]["secretKeyRef"]["key"] in secret["stringData"]
        config = _option(command[4:], "--config")
        mount = next(m for m in container["volumeMounts"] if m["name"] == "tenants")
        assert config == f"{mount['mountPath']}/tenants.toml"
    assert sorted(names) == sorted(JOBS)  # one CronJob per job, each once


def test_k8s_selectors_fit_the_pods() -> None:
    labels = _pod()["metadata"]["labels"]
    (deployment,) = _by_kind("Deployment")
    assert "replicas" not in deployment["spec"]  # the autoscaler's
    selectors = [
        deployment["spec"]["selector"]["matchLabels"],
        _by_kind("Service")[0]["spec"]["selector"],
        _by_kind("PodDisruptionBudget")[0]["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items(), selector
    (hpa,) = _by_kind("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2  # one may be drained (the PDB keeps one)
    (pdb,) = _by_kind("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    service = _by_kind("Service")[0]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
