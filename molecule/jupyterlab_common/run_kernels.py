"""Run `1+1` in each named kernel with jupyter_client; print the outputs as JSON (molecule verify)."""

import json
import sys

from jupyter_client.manager import start_new_kernel


def run(kernel_name: str, code: str = "1+1") -> list[str]:
    """Execute code in a fresh kernel; return text/plain results, streams and errors."""
    km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=120)
    try:
        msg_id = kc.execute(code)
        outputs: list[str] = []
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind in ("execute_result", "display_data"):
                outputs.append(msg["content"]["data"].get("text/plain", ""))
            elif kind == "stream":
                outputs.append(msg["content"]["text"])
            elif kind == "error":
                outputs.append("ERROR: " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return outputs
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    print(json.dumps({name: run(name) for name in sys.argv[1:]}))
