"""Call a SPIFFE Workload API on a Unix socket with the real PyPI clients.

Usage: workload_api_call.py SOCKET_PATH

1. `spiffe.WorkloadApiClient.fetch_jwt_bundles()` (a server-streaming call, grpcio underneath).
2. A raw grpcio unary call `/SpiffeWorkloadAPI/ValidateJWTSVID` with the
   `workload.spiffe.io: true` metadata.

Prints one JSON line and exits 0 when both succeed:
  {"ok": true, "trust_domains": [...], "validated_spiffe_id": "..."}
otherwise prints {"ok": false, "step": ..., "error": ...} and exits 1.
"""

import json
import sys

import grpc
from spiffe import WorkloadApiClient
from spiffe._proto import workload_pb2


def main() -> int:
    path = sys.argv[1]
    step = "fetch_jwt_bundles"
    try:
        with WorkloadApiClient(socket_path="unix://" + path, default_timeout=10) as client:
            bundles = client.fetch_jwt_bundles()
            trust_domains = sorted(str(b.trust_domain) for b in bundles.bundles)

        step = "validate_jwt_svid"
        with grpc.insecure_channel("unix://" + path) as channel:
            call = channel.unary_unary(
                "/SpiffeWorkloadAPI/ValidateJWTSVID",
                request_serializer=workload_pb2.ValidateJWTSVIDRequest.SerializeToString,
                response_deserializer=workload_pb2.ValidateJWTSVIDResponse.FromString,
            )
            response = call(
                workload_pb2.ValidateJWTSVIDRequest(audience="test", svid="token"),
                metadata=[("workload.spiffe.io", "true")],
                timeout=10,
            )
    except Exception as err:  # report any failure, with the gRPC status when there is one
        cause = err
        while getattr(cause, "__cause__", None) is not None:
            cause = cause.__cause__
        detail = str(err)
        if isinstance(cause, grpc.RpcError):
            detail += " | %s: %s" % (cause.code(), cause.details())
        print(json.dumps({"ok": False, "step": step, "error": detail}))
        return 1
    print(
        json.dumps(
            {
                "ok": True,
                "trust_domains": trust_domains,
                "validated_spiffe_id": response.spiffe_id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
