"""Checks the rendered Kubernetes manifests (deploy/k8s, one overlay rendered by kustomize): every object
against Kubernetes' own schemas (kubernetes-validate, strict: an unknown field fails) for the oldest
and newest versions the manifests support, then the wiring a schema cannot know of: the api's probes,
a termination grace that covers the preStop pause, the shutdown delay and the drain, zones spread,
resources requested, scaling and disruption aimed at the api, the migration Job, every Secret and
setting referenced and documented, and network policies that let only the ingress controller reach
the api and only the api, worker and migration reach the stores.

    python3 scripts/check-kubernetes.py RENDERED.yaml README.md
"""

import re
import sys

import kubernetes_validate
import yaml

from deploy_checks import Findings

# The preStop sleep action is on by default from Kubernetes 1.30.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
INGRESS_NAMESPACE = "ingress-nginx"
STORE_PORTS = {5432, 6379}


def seconds(duration):
    match = re.fullmatch(r"(\d+)s", duration)
    if not match:
        raise SystemExit(f"[check-kubernetes] FAILED: {duration!r} is not a duration in seconds")
    return int(match.group(1))


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    """Whether a label selector (matchLabels and matchExpressions with In) selects these labels."""
    if all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items()):
        return all(
            expression["operator"] == "In" and labels.get(expression["key"]) in expression["values"]
            for expression in selector.get("matchExpressions", [])
        )
    return False


def secrets_used(workload):
    """The Secrets a workload's pods take settings or files from."""
    spec = pod_spec(workload)
    sources = [source for container in spec["containers"] for source in container.get("envFrom", [])]
    from_env = {source["secretRef"]["name"] for source in sources if "secretRef" in source}
    return from_env | {volume["secret"]["secretName"] for volume in spec.get("volumes", []) if "secret" in volume}


def config_maps_used(workload):
    containers = pod_spec(workload)["containers"]
    return {s["configMapRef"]["name"] for c in containers for s in c.get("envFrom", []) if "configMapRef" in s}


def policies_for(policies, labels, kind):
    return [p for p in policies if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)]


def main(rendered_path, readme_path):
    with open(rendered_path, encoding="utf-8") as file:
        objects = [o for o in yaml.safe_load_all(file) if o]
    findings = Findings("check-kubernetes", readme_path)
    expect = findings.expect

    for version in KUBERNETES_VERSIONS:
        for thing in objects:
            try:
                kubernetes_validate.validate(thing, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                expect(False, f"{thing['kind']}/{thing['metadata']['name']} against {version}: {error.message}")

    by_kind = {}
    for thing in objects:
        by_kind.setdefault(thing["kind"], {})[thing["metadata"]["name"]] = thing
    api = by_kind["Deployment"]["myclothes-api"]
    worker = by_kind["Deployment"]["myclothes-worker"]
    migrate = by_kind["Job"]["myclothes-migrate"]
    settings = by_kind["ConfigMap"]["myclothes-settings"]["data"]
    container = pod_spec(api)["containers"][0]

    expect(container["args"] == ["serve"], "the api serves")
    expect(pod_spec(worker)["containers"][0]["args"] == ["worker"], "the worker runs `worker`")
    expect(pod_spec(migrate)["containers"][0]["args"] == ["migrate"], "the Job runs `migrate`")
    expect(container["readinessProbe"]["httpGet"]["path"] == "/health/ready", "readiness is /health/ready")
    expect(container["livenessProbe"]["httpGet"]["path"] == "/health/live", "liveness is /health/live")
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    stopping = pause + seconds(settings["MYCLOTHES_SHUTDOWN_DELAY"]) + seconds(settings["MYCLOTHES_DRAIN_TIMEOUT"])
    grace = pod_spec(api)["terminationGracePeriodSeconds"]
    expect(
        stopping <= grace <= stopping + 10,
        f"the api's grace ({grace} s) covers preStop + shutdown delay + drain ({stopping} s), with at most 10 s more",
    )
    expect(
        any(c["topologyKey"] == "topology.kubernetes.io/zone" for c in pod_spec(api)["topologySpreadConstraints"]),
        "the api spreads over zones",
    )
    for workload in (api, worker, migrate):
        for each in pod_spec(workload)["containers"]:
            expect({"cpu", "memory"} <= set(each["resources"].get("requests", {})), f"{each['name']} requests CPU and memory")
            expect(each["securityContext"].get("readOnlyRootFilesystem") is True, f"{each['name']} has a read-only root")

    scaler = by_kind["HorizontalPodAutoscaler"]["myclothes-api"]["spec"]
    expect(scaler["scaleTargetRef"]["name"] == "myclothes-api", "the autoscaler scales the api")
    expect(scaler["minReplicas"] >= 2, "the api keeps two replicas or more")
    budget = by_kind["PodDisruptionBudget"]["myclothes-api"]["spec"]
    expect(selects(budget["selector"], pod_labels(api)), "the disruption budget covers the api's pods")

    secrets = by_kind.get("Secret", {})
    for name in sorted(set().union(*map(secrets_used, (api, worker, migrate)))):
        expect(name in secrets, f"the Secret {name} is part of the manifests")
    for name in sorted(set().union(*map(config_maps_used, (api, worker, migrate)))):
        expect(name in by_kind["ConfigMap"], f"the ConfigMap {name} is part of the manifests")
    names = set(settings)
    for secret in secrets.values():
        names |= set(secret.get("data", {})) | set(secret.get("stringData", {}))
    findings.documented(n for n in names if n.startswith("MYCLOTHES_"))
    expect(all("myclothes-owner" not in secrets_used(w) for w in (api, worker)), "only the migration gets the owner's credentials")

    policies = list(by_kind.get("NetworkPolicy", {}).values())
    expect(
        any(p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies),
        "a default policy denies all traffic in and out",
    )
    rules_in = [rule for p in policies_for(policies, pod_labels(api), "Ingress") for rule in p["spec"].get("ingress", [])]
    http_sources = [
        peer
        for rule in rules_in
        if any(port["port"] in (8000, "http") for port in rule.get("ports", []))
        for peer in rule.get("from", [])
    ]
    expect(rules_in and all(rule.get("from") for rule in rules_in), "every rule into the api names who may come")
    expect(
        http_sources and all(peer.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": INGRESS_NAMESPACE} and "ipBlock" not in peer for peer in http_sources),
        "only the ingress controller reaches the api's HTTP port",
    )
    for workload in (api, worker, migrate):
        reaches = {
            port["port"]
            for p in policies_for(policies, pod_labels(workload), "Egress")
            for rule in p["spec"].get("egress", [])
            for port in rule.get("ports", [])
        }
        expect(STORE_PORTS <= reaches, f"{workload['metadata']['name']} reaches the stores")
    for workload in objects:
        if workload["kind"] in ("Deployment", "Job") and workload not in (api, worker, migrate):
            expect(False, f"{workload['metadata']['name']} is a workload this check does not know")

    phase = {"myclothes.example/phase": "migrate"}
    needed_first = {("Job", "myclothes-migrate"), ("ConfigMap", "myclothes-settings"), ("ServiceAccount", "myclothes"), ("Secret", "myclothes-owner"), ("Secret", "myclothes-store-ca")}
    for kind, name in sorted(needed_first):
        thing = by_kind.get(kind, {}).get(name)
        expect(thing is not None and selects({"matchLabels": phase}, thing["metadata"].get("labels", {})), f"{kind}/{name} is applied with the migration")
    for kind in ("Deployment", "HorizontalPodAutoscaler", "Ingress"):
        for name, thing in by_kind.get(kind, {}).items():
            expect(not selects({"matchLabels": phase}, thing["metadata"].get("labels", {})), f"{kind}/{name} waits for the migration")

    findings.report(f"{len(objects)} objects valid for Kubernetes {' and '.join(KUBERNETES_VERSIONS)}; the wiring holds")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
