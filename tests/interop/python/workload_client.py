"""Drives Tessera's Workload API with the unmodified PyPI `spiffe` client.

usage: workload_client.py SOCKET AUDIENCE [--until-rotated]
Prints one JSON object per line: the results of every Workload API call, or with
--until-rotated, the SPIFFE ID and leaf serial of every X.509 context update until the
default SVID's serial changes (a rotation).
"""

import json
import sys
import threading

import grpc
from spiffe import WorkloadApiClient
from spiffe.workloadapi.errors import ValidateJwtSvidError


def value(obj, name):
    attr = getattr(obj, name)
    return attr() if callable(attr) else attr


def main():
    socket, audience = sys.argv[1], sys.argv[2]
    endpoint = "unix://" + socket
    with WorkloadApiClient(endpoint) as client:
        if len(sys.argv) > 3 and sys.argv[3] == "--until-rotated":
            watch(client)
            return
        svid = client.fetch_x509_svid()
        bundles = client.fetch_x509_bundles()
        jwt = client.fetch_jwt_svid(audience={audience})
        jwt_bundles = client.fetch_jwt_bundles()
        validated = client.validate_jwt_svid(value(jwt, "token"), audience)
        wrong_audience = refusal(
            lambda: client.validate_jwt_svid(value(jwt, "token"), "not-" + audience))
        print(json.dumps({
            "x509_spiffe_id": str(value(svid, "spiffe_id")),
            "x509_chain_len": len(value(svid, "cert_chain")),
            "x509_bundle_trust_domains": sorted(str(td) for td in bundles_trust_domains(bundles)),
            "jwt_spiffe_id": str(value(jwt, "spiffe_id")),
            "jwt_audience": sorted(value(jwt, "audience")),
            "jwt_bundle_trust_domains": sorted(str(td) for td in bundles_trust_domains(jwt_bundles)),
            "validated_spiffe_id": str(value(validated, "spiffe_id")),
            "wrong_audience": wrong_audience,
        }), flush=True)


def refusal(call):
    """"accepted", or "refused: CODE: details" when the agent answered with a gRPC status.

    Anything else (a crash, a connection error without a status) propagates: it is not a
    refusal and must fail the test.
    """
    try:
        call()
        return "accepted"
    except ValidateJwtSvidError as err:
        cause = err.__cause__
        if not isinstance(cause, grpc.Call):
            raise
        return "refused: %s: %s" % (cause.code().name, cause.details())


def bundles_trust_domains(bundle_set):
    bundles = value(bundle_set, "bundles") if hasattr(bundle_set, "bundles") else bundle_set._bundles
    if isinstance(bundles, dict):
        return list(bundles.keys())
    return [value(b, "trust_domain") for b in bundles]


def watch(client):
    seen = []
    done = threading.Event()

    def on_success(context):
        svid = value(context, "default_svid")
        leaf = value(svid, "leaf")
        seen.append({"spiffe_id": str(value(svid, "spiffe_id")), "serial": str(leaf.serial_number)})
        print(json.dumps(seen[-1]), flush=True)
        if seen[-1]["serial"] != seen[0]["serial"]:
            done.set()

    def on_error(error):
        print(json.dumps({"error": str(error)}), flush=True)

    handle = client.stream_x509_contexts(on_success=on_success, on_error=on_error)
    done.wait(timeout=120)
    handle.cancel() if hasattr(handle, "cancel") else None


if __name__ == "__main__":
    main()
