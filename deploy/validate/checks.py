"""Checks of newsflow's deployment files that need a parser, a schema or the repository.

Run by scripts/validate-deploy.sh inside its tools venv (PyYAML, jsonschema,
kubernetes-validate, promql-parser); prints one line per check and exits non-zero if any
failed. The compose file itself is also parsed by docker-compose and checked against the
compose-spec schema by the shell script; this file adds what a schema cannot say (replicas vs
partitions, grace periods, which database login each workload uses, ...).
"""

import json
import pathlib
import re
import sys
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import promql_parser
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = ROOT / "deploy" / "schemas"
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring-servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring-prometheusrule.json",
}
TOPICS = {"news.articles.raw", "news.articles", "news.articles.dlq", "news.articles.duplicates", "news.events"}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def load_all(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


# ---------------------------------------------------------------------------------------------
# Metrics the code emits: the names given to the `metrics` macros under crates/ and services/.
METRIC_MACRO = re.compile(r'(?:counter|gauge|histogram)!\(\s*"(newsflow_[a-z0-9_]+)"')


def emitted_metrics():
    names = set()
    for base in ("crates", "services"):
        for src in (ROOT / base).rglob("*.rs"):
            names.update(METRIC_MACRO.findall(src.read_text(errors="replace")))
    return names


EMITTED = emitted_metrics()


def check_promql(expr, where):
    concrete = (
        expr.replace("$__rate_interval", "5m")
        .replace("$service", ".*")
        .replace("$namespace", "newsflow")
    )
    try:
        promql_parser.parse(concrete)
    except Exception as e:  # the parser raises ValueError/RuntimeError with the position
        return check(False, f"{where}: PromQL does not parse: {e}: {expr!r}")
    unknown = set()
    for name in re.findall(r"\b(newsflow_[a-z0-9_]+)", concrete):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in EMITTED and base not in EMITTED:
            unknown.add(name)
    return check(not unknown, f"{where}: metrics exist in the code {sorted(unknown) or ''}".rstrip())


# ---------------------------------------------------------------------------------------------
def compose_checks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("kafka", "postgres", "db-bootstrap", "init", "dedup", "extract", "report", "feeder"):
        check(name in services, f"compose: service {name} present")
    check(
        all("container_name" not in s for s in services.values()),
        "compose: no container_name (replicas possible)",
    )
    kafka = services["kafka"]
    check(kafka["image"].startswith("apache/kafka:"), "compose: Kafka is the apache/kafka image")
    env = kafka["environment"]
    check(
        "controller" in env.get("KAFKA_PROCESS_ROLES", "") and "KAFKA_CONTROLLER_QUORUM_VOTERS" in env,
        "compose: Kafka runs in KRaft mode",
    )
    check("kafka:9092" in env.get("KAFKA_ADVERTISED_LISTENERS", ""), "compose: Kafka advertised as kafka:9092")
    check(services["postgres"]["image"].startswith("postgres:16"), "compose: Postgres 16")

    partitions_expr = services["init"]["environment"]["NEWSFLOW_PARTITIONS"]
    m = re.fullmatch(r"\$\{NEWSFLOW_PARTITIONS:-(\d+)\}", str(partitions_expr))
    partitions = int(m.group(1)) if m else int(partitions_expr)
    check("--partitions" in " ".join(services["init"]["command"]), "compose: init creates topics with --partitions")
    init_cmd = " ".join(services["init"]["command"])
    check(all(f"--topic {t} " in init_cmd + " " for t in TOPICS), "compose: init creates every newsflow topic")
    check("newsflow-dedup migrate" in init_cmd, "compose: init runs the migrations")

    for name in ("dedup", "extract"):
        replicas = services[name].get("deploy", {}).get("replicas", 1)
        check(replicas == 2, f"compose: {name} runs 2 replicas")
        check(replicas <= partitions, f"compose: {name} replicas {replicas} <= partitions {partitions}")

    for name, svc in services.items():
        long_running = svc.get("restart", "no") != "no"
        if long_running:
            check("healthcheck" in svc, f"compose: {name} has a health check")
        for dep, cond in (svc.get("depends_on") or {}).items():
            check(
                isinstance(cond, dict) and cond.get("condition") in
                ("service_healthy", "service_completed_successfully"),
                f"compose: {name} waits for {dep} with a condition",
            )
        env = svc.get("environment") or {}
        if "NEWSFLOW_SHUTDOWN_GRACE_MS" in env and long_running:
            grace = parse_seconds(svc.get("stop_grace_period", "10s"))
            check(
                grace * 1000 > int(env["NEWSFLOW_SHUTDOWN_GRACE_MS"]),
                f"compose: {name} stop_grace_period {grace}s > NEWSFLOW_SHUTDOWN_GRACE_MS",
            )
        url = env.get("DATABASE_URL")
        if url:
            user = urlparse(url).username
            check(user not in ("postgres", None), f"compose: {name} does not connect as the superuser ({user})")

    expected_user = {"init": "newsflow_migrate_1", "dedup": "newsflow_svc_1", "extract": "newsflow_svc_1",
                     "report": "newsflow_report_1"}
    for name, user in expected_user.items():
        got = urlparse(services[name]["environment"]["DATABASE_URL"]).username
        check(got == user, f"compose: {name} connects as {user}")
    bootstrap = " ".join(services["db-bootstrap"]["command"])
    for user in set(expected_user.values()):
        check(user in bootstrap, f"compose: db-bootstrap creates {user}")

    feeder = " ".join(services["feeder"]["command"])
    check("newsflow-feed synth" in feeder and "newsflow-feed text" in feeder, "compose: feeder replays sample and synthetic news")
    check((ROOT / "data" / "samples" / "seed-article.txt").is_file(), "compose: data/samples/seed-article.txt exists")


def parse_seconds(value):
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(value))
    if not m or not any(m.groups()):
        raise ValueError(f"unsupported duration {value!r}")
    return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)


# ---------------------------------------------------------------------------------------------
def k8s_checks():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    check(listed == files, f"k8s: kustomization lists every manifest (missing {sorted(files - listed)}, extra {sorted(listed - files)})")

    docs = []
    for path in sorted(K8S.glob("*.yaml")) + sorted((K8S / "alternatives").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            docs.append((path.relative_to(ROOT), doc))

    # Schema validation: built-in kinds against the Kubernetes OpenAPI schemas (strict: unknown
    # fields are errors), custom resources against the vendored CRD schemas.
    for path, doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        label = f"{path} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if key in CRD_SCHEMAS:
            schema = json.loads((SCHEMAS / CRD_SCHEMAS[key]).read_text())
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
            check(not errors, f"schema {label} against deploy/schemas/{CRD_SCHEMAS[key]}"
                  + "".join(f"\n       {'/'.join(map(str, e.path))}: {e.message}" for e in errors))
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                check(True, f"schema {label} against Kubernetes {version} (strict)")
            except kubernetes_validate.SchemaNotFoundError:
                check(False, f"schema {label}: no Kubernetes {version} schema and no vendored CRD schema")
            except kubernetes_validate.ValidationError as e:
                check(False, f"schema {label} against Kubernetes {version}: {str(e).splitlines()[0]}")

    base = [(p, d) for p, d in docs if "alternatives" not in str(p)]
    by_kind = {}
    for _, d in base:
        by_kind.setdefault(d["kind"], []).append(d)
    config = next(d for d in by_kind["ConfigMap"] if d["metadata"]["name"] == "newsflow-config")["data"]
    grace_ms = int(config["NEWSFLOW_SHUTDOWN_GRACE_MS"])
    partitions = int(config["NEWSFLOW_PARTITIONS"])
    check(config.get("NEWSFLOW_MIGRATE") == "false", "k8s: services do not migrate at start-up")

    secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in by_kind["Secret"]}
    for name, data in secrets.items():
        url = data.get("database-url")
        if url:
            check(urlparse(url).username not in ("postgres", None), f"k8s: Secret {name} is not a superuser login")

    expected_db = {"newsflow-dedup": "newsflow-db-writer", "newsflow-extract": "newsflow-db-writer",
                   "newsflow-report": "newsflow-db-analyst", "newsflow-migrate": "newsflow-db-migrator"}
    pdb_selectors = [d["spec"]["selector"]["matchLabels"] for d in by_kind["PodDisruptionBudget"]]
    groups = {}
    workloads = by_kind["Deployment"] + by_kind["Job"]
    for w in workloads:
        name = w["metadata"]["name"]
        pod = w["spec"]["template"]["spec"]
        psc = pod.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True, f"k8s: {name} runs as non-root")
        check(pod.get("automountServiceAccountToken") is False, f"k8s: {name} mounts no service-account token")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            check(sc.get("readOnlyRootFilesystem") is True, f"k8s: {name}/{c['name']} read-only root filesystem")
            check(sc.get("allowPrivilegeEscalation") is False, f"k8s: {name}/{c['name']} no privilege escalation")
            check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"k8s: {name}/{c['name']} drops all capabilities")
            res = c.get("resources", {})
            check(all(k in res.get(t, {}) for t in ("requests", "limits") for k in ("cpu", "memory")),
                  f"k8s: {name}/{c['name']} has cpu/memory requests and limits")
        db_secrets = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v} & set(secrets)
        db_secrets = {s for s in db_secrets if "database-url" in secrets[s]}
        if name in expected_db:
            check(db_secrets == {expected_db[name]}, f"k8s: {name} uses the {expected_db[name]} login ({sorted(db_secrets)})")
        if w["kind"] != "Deployment":
            continue
        c = pod["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        check(ports.get("admin") == 9000, f"k8s: {name} exposes the admin port 9000")
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = c.get(probe, {}).get("httpGet", {})
            check(get.get("path") == path and get.get("port") in ("admin", 9000), f"k8s: {name} {probe} on {path}:9000")
        tgp = pod.get("terminationGracePeriodSeconds", 30)
        check(tgp * 1000 > grace_ms, f"k8s: {name} terminationGracePeriodSeconds {tgp}s > NEWSFLOW_SHUTDOWN_GRACE_MS {grace_ms}ms")
        ann = w["spec"]["template"]["metadata"].get("annotations", {})
        check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == "9000",
              f"k8s: {name} has Prometheus scrape annotations")
        labels = w["spec"]["template"]["metadata"]["labels"]
        check(any(all(labels.get(k) == v for k, v in sel.items()) for sel in pdb_selectors), f"k8s: {name} has a PodDisruptionBudget")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        if "NEWSFLOW_GROUP" in env:
            groups[name] = env["NEWSFLOW_GROUP"]

    for so in by_kind.get("ScaledObject", []):
        target = so["spec"]["scaleTargetRef"]["name"]
        check(so["spec"]["maxReplicaCount"] <= partitions, f"k8s: {so['metadata']['name']} maxReplicaCount <= partitions ({partitions})")
        for t in so["spec"]["triggers"]:
            if t["type"] == "kafka":
                check(t["metadata"]["consumerGroup"] == groups.get(target),
                      f"k8s: {so['metadata']['name']} scales on {target}'s consumer group")
                check(t["metadata"]["topic"] in TOPICS, f"k8s: {so['metadata']['name']} watches a newsflow topic")
                check(t["metadata"]["bootstrapServers"] == config["NEWSFLOW_BROKERS"],
                      f"k8s: {so['metadata']['name']} uses the ConfigMap's brokers")
        dep = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == target)
        check("replicas" not in dep["spec"], f"k8s: autoscaled {target} leaves spec.replicas to the autoscaler")
    for path, d in docs:
        if d["kind"] == "HorizontalPodAutoscaler":
            check(d["spec"]["maxReplicas"] <= partitions, f"k8s: HPA {d['metadata']['name']} maxReplicas <= partitions")
            check_promql(d["spec"]["metrics"][0]["external"]["metric"]["name"], f"{path} HPA metric")

    topics_job = next(d for d in by_kind["Job"] if d["metadata"]["name"] == "newsflow-topics")
    args = topics_job["spec"]["template"]["spec"]["containers"][0]["args"]
    check({a.split("=", 1)[1] for a in args if a.startswith("--topic=")} == TOPICS, "k8s: topics Job creates every newsflow topic")

    sql = (ROOT / "deploy" / "postgres" / "bootstrap-roles.sql").read_text()
    cm = next(d for d in by_kind["ConfigMap"] if d["metadata"]["name"] == "newsflow-db-bootstrap-sql")
    check(cm["data"]["bootstrap-roles.sql"] == sql, "k8s: bootstrap ConfigMap equals deploy/postgres/bootstrap-roles.sql")

    for sm in by_kind.get("ServiceMonitor", []):
        check(all(e.get("honorLabels") for e in sm["spec"]["endpoints"]), "k8s: ServiceMonitor keeps the metrics' own service label")

    runbook = (ROOT / "docs" / "runbook.md").read_text().lower()
    for rule_doc in by_kind.get("PrometheusRule", []):
        for group in rule_doc["spec"]["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                check_promql(str(rule["expr"]), f"alert {name}")
                check(f"### {name.lower()}" in runbook, f"alert {name} is explained in docs/runbook.md")


# ---------------------------------------------------------------------------------------------
def grafana_checks():
    path = ROOT / "deploy" / "grafana" / "newsflow.json"
    try:
        dash = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        check(False, f"grafana: {path.name} is JSON: {e}")
        return
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dash["panels"]]
    check(len(ids) == len(set(ids)), "grafana: panel ids are unique")
    titles = " | ".join(p["title"].lower() for p in panels)
    for needed in ("consumed", "lag", "retries", "dlq", "p50", "p99", "outbox", "duplicates"):
        check(needed in titles, f"grafana: a panel for {needed}")
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for metric in sorted(m for m in EMITTED if m.startswith("newsflow_")):
        check(metric in exprs, f"grafana: {metric} is charted")
    for p in panels:
        for t in p["targets"]:
            check_promql(t["expr"], f"grafana panel {p['title']!r}")


def main():
    check(len(EMITTED) >= 10, f"found the metric names the code emits ({len(EMITTED)})")
    for section in (compose_checks, k8s_checks, grafana_checks):
        try:
            section()
        except Exception as e:  # a missing key is a failed check, not a crash of the checker
            check(False, f"{section.__name__} crashed: {type(e).__name__}: {e}")
    print(f"{len(failures)} failed" if failures else "all deployment checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
