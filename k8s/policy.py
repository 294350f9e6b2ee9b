"""The security settings every rendered pod template and RBAC rule keeps (run by
k8s/validate on `kubectl kustomize` output). Prints each violation; exit 1 if any."""

import sys

import yaml

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
# The only workload allowed host access and root (without capabilities), and the one
# capability it may be given (k8s/README.md, "The agent's privileges").
AGENT = ("DaemonSet", "tessera-agent")
AGENT_MAY_ADD = {"SYS_PTRACE"}
# Containers that must answer HTTP probes on their health port.
PROBED = {"server", "agent"}

# Verbs beyond get/create, per resource: what the server's registration controller needs
# (server/src/k8s_registration/): watch its inputs, write the ClusterSPIFFEID status
# subresource, renew its Lease. Nothing may write pods, nodes, namespaces or the spec.
EXTRA_VERBS = {
    "pods": {"list", "watch"},
    "namespaces": {"list", "watch"},
    "nodes": {"list", "watch"},
    "clusterspiffeids": {"list", "watch"},
    "clusterspiffeids/status": {"update", "patch"},
    "leases": {"update"},
}

errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def pod_spec(obj):
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def check_pod(obj):
    where = f'{obj["kind"]}/{obj["metadata"]["name"]}'
    is_agent = (obj["kind"], obj["metadata"]["name"]) == AGENT
    spec = pod_spec(obj)
    psc = spec.get("securityContext") or {}
    if spec.get("hostNetwork") or spec.get("hostIPC"):
        fail(where, "hostNetwork/hostIPC")
    if spec.get("hostPID") and not is_agent:
        fail(where, "hostPID outside the agent")
    if is_agent:
        if not spec.get("hostPID"):
            fail(where, "the agent needs hostPID")
    elif psc.get("runAsNonRoot") is not True:
        fail(where, "runAsNonRoot must be true")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    for c in containers:
        cw = f'{where} container {c["name"]}'
        sc = c.get("securityContext") or {}
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp != "RuntimeDefault":
            fail(cw, "seccompProfile must be RuntimeDefault")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(cw, "allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(cw, "readOnlyRootFilesystem must be true")
        if sc.get("privileged"):
            fail(cw, "privileged")
        caps = sc.get("capabilities") or {}
        if caps.get("drop") != ["ALL"]:
            fail(cw, "capabilities.drop must be [ALL]")
        added = set(caps.get("add") or [])
        allowed = AGENT_MAY_ADD if is_agent else set()
        if added - allowed:
            fail(cw, f"capabilities added: {sorted(added - allowed)}")
        if not is_agent and sc.get("runAsUser") == 0:
            fail(cw, "runs as root")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(kind) or {}):
                    fail(cw, f"resources.{kind}.{r} missing")
        if c["name"] in PROBED:
            for probe, path in (("livenessProbe", "/live"), ("readinessProbe", "/ready")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                if get.get("path") != path or get.get("port") != "health":
                    fail(cw, f"{probe} must be GET {path} on port health")


def check_rbac(obj):
    where = f'{obj["kind"]}/{obj["metadata"]["name"]}'
    for rule in obj.get("rules") or []:
        for field in ("apiGroups", "resources", "verbs"):
            if "*" in (rule.get(field) or []):
                fail(where, f"wildcard in {field}")
        if "secrets" in (rule.get("resources") or []):
            fail(where, "access to secrets")
        resources = rule.get("resources") or []
        allowed = {"get", "create"}
        if resources:
            allowed |= set.intersection(*(EXTRA_VERBS.get(r, set()) for r in resources))
        if set(rule.get("verbs") or []) - allowed:
            fail(where, f"verbs beyond {sorted(allowed)}: {rule['verbs']}")


seen = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for obj in yaml.safe_load_all(f):
            if not obj:
                continue
            if obj["kind"] in POD_KINDS:
                seen += 1
                check_pod(obj)
            elif obj["kind"] in ("Role", "ClusterRole"):
                check_rbac(obj)

for e in errors:
    print(f"k8s/policy.py: {e}", file=sys.stderr)
if seen == 0:
    print("k8s/policy.py: no pod templates found", file=sys.stderr)
    sys.exit(1)
if errors:
    sys.exit(1)
print(f"k8s/policy.py: {seen} pod templates keep the security settings")
