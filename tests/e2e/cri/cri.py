"""A small CRI client for the e2e lane, in the part of crictl's role the lane needs (crictl
cannot be built here): it speaks Kubernetes' Container Runtime Interface to containerd's
CRI plugin as the kubelet does.

Usage (socket from $CONTAINERD_ADDRESS):
  cri.py version
  cri.py runp NAME HANDLER LOGDIR [--pid pod|container]      prints the pod id
  cri.py create POD PODNAME LOGDIR NAME IMAGE [--memory BYTES] [--pid pod|container] -- CMD...
                                    logs to LOGDIR/NAME.log; prints the container id
  cri.py start|rm|status|stats ID
  cri.py stop ID SECONDS
  cri.py exec ID -- CMD...          prints stdout (and stderr), exits with the command's code
  cri.py stopp|rmp POD
Needs cri_pb2 (protoc --python_out from cri.proto) on sys.path.
"""

import json
import os
import sys

import grpc

import cri_pb2 as pb

SERVICE = "/runtime.v1.RuntimeService/"


def call(method, request, response_type, timeout=60):
    channel = grpc.insecure_channel("unix://" + os.environ["CONTAINERD_ADDRESS"])
    stub = channel.unary_unary(
        SERVICE + method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    return stub(request, timeout=timeout)


def pid_mode(args):
    if "--pid" in args and args[args.index("--pid") + 1] == "pod":
        return pb.POD
    return pb.CONTAINER


def sandbox_config(name, log_dir, pid):
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=name + "-uid", namespace="e2e"),
        # The node's network means the node's uts namespace: no hostname of its own.
        hostname="",
        log_directory=log_dir,
        linux=pb.LinuxPodSandboxConfig(
            security_context=pb.LinuxSandboxSecurityContext(
                # The node's network (the lane's own namespace): no CNI here.
                namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pid)
            )
        ),
    )


def main(argv):
    cmd, args = argv[0], argv[1:]
    rest = args[args.index("--") + 1:] if "--" in args else []
    if cmd == "version":
        r = call("Version", pb.VersionRequest(version="v1"), pb.VersionResponse)
        print(r.runtime_name, r.runtime_version, r.runtime_api_version)
    elif cmd == "runp":
        name, handler, log_dir = args[:3]
        r = call(
            "RunPodSandbox",
            pb.RunPodSandboxRequest(
                config=sandbox_config(name, log_dir, pid_mode(args)), runtime_handler=handler
            ),
            pb.RunPodSandboxResponse,
        )
        print(r.pod_sandbox_id)
    elif cmd == "create":
        pod, pod_name, log_dir, name, image = args[:5]
        resources = pb.LinuxContainerResources()
        if "--memory" in args:
            resources.memory_limit_in_bytes = int(args[args.index("--memory") + 1])
        pid = pid_mode(args)
        config = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name),
            image=pb.ImageSpec(image=image),
            command=rest,
            envs=[pb.KeyValue(key="E2E", value="cri")],
            log_path=name + ".log",
            linux=pb.LinuxContainerConfig(
                resources=resources,
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pid)
                ),
            ),
        )
        r = call(
            "CreateContainer",
            pb.CreateContainerRequest(
                pod_sandbox_id=pod,
                config=config,
                sandbox_config=sandbox_config(pod_name, log_dir, pid),
            ),
            pb.CreateContainerResponse,
        )
        print(r.container_id)
    elif cmd == "start":
        call("StartContainer", pb.ContainerIdRequest(container_id=args[0]), pb.Empty)
    elif cmd == "stop":
        call(
            "StopContainer",
            pb.StopContainerRequest(container_id=args[0], timeout=int(args[1])),
            pb.Empty,
        )
    elif cmd == "rm":
        call("RemoveContainer", pb.ContainerIdRequest(container_id=args[0]), pb.Empty)
    elif cmd == "status":
        s = call(
            "ContainerStatus", pb.ContainerIdRequest(container_id=args[0]), pb.ContainerStatusResponse
        ).status
        print(
            json.dumps(
                {
                    "state": pb.ContainerState.Name(s.state),
                    "exit_code": s.exit_code,
                    "reason": s.reason,
                    "log_path": s.log_path,
                }
            )
        )
    elif cmd == "exec":
        r = call(
            "ExecSync",
            pb.ExecSyncRequest(container_id=args[0], cmd=rest, timeout=30),
            pb.ExecSyncResponse,
        )
        sys.stdout.write(r.stdout.decode())
        sys.stderr.write(r.stderr.decode())
        return r.exit_code
    elif cmd == "stats":
        s = call(
            "ContainerStats", pb.ContainerIdRequest(container_id=args[0]), pb.ContainerStatsResponse
        ).stats
        print(
            json.dumps(
                {
                    "working_set_bytes": s.memory.working_set_bytes.value,
                    "cpu_ns": s.cpu.usage_core_nano_seconds.value,
                }
            )
        )
    elif cmd == "stopp":
        call("StopPodSandbox", pb.PodSandboxIdRequest(pod_sandbox_id=args[0]), pb.Empty)
    elif cmd == "rmp":
        call("RemovePodSandbox", pb.PodSandboxIdRequest(pod_sandbox_id=args[0]), pb.Empty)
    else:
        sys.exit("cri.py: unknown command " + cmd)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except grpc.RpcError as e:
        sys.exit("cri.py: %s: %s" % (e.code().name, e.details()))
